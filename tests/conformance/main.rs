//! Conformance tests: one binary, one module per Wine test suite. Every test cites the
//! source of the Windows behaviour it checks (docs/semantics.md section numbers, Wine test
//! functions, Microsoft Learn pages).
#![forbid(unsafe_code)]

mod support;

mod async_io;
mod audit;
mod com;
mod com_server;
mod com_wine_probe;
mod determinism;
mod explore;
mod explore_dpor;
mod file;
mod handles;
mod kernel;
mod locks;
mod mailslot;
mod mapping;
mod model;
mod model_com;
mod model_com_class;
mod model_mailslot;
mod model_msg;
mod model_msmq;
mod model_named;
mod model_sock;
mod model_sync;
mod model_vmem;
mod model_volume;
mod msg;
mod msmq;
mod named_pipe;
mod network;
mod pictures;
mod pipe;
mod process;
mod race;
mod robustness;
mod scenario_files;
mod schemas;
mod sessions;
mod sock;
mod sock_overlapped;
mod sync;
mod teaching;
mod thread;
mod timer;
mod vmem;
