//! mydocker-runtime
