//! mydocker-network
