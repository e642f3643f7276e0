//! mydocker-image
