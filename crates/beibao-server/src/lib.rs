//! beibao-server.
