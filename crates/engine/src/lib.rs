//! mydocker-engine
