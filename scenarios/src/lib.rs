//! winsim's scenario catalogue: built-in teaching cases and known bugs, each a set of
//! simulated programs written against the Win32 surface of `sim-core`.
//!
//! Scenarios come two ways: Rust code registered in [`catalogue`], and scenario files
//! (KDL, docs/scenarios.md) parsed by [`file`](mod@file) and run by [`interp`]; the files of the
//! catalogue directory `scenarios/catalogue/` are built in too ([`files`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use sim_core::prelude::*;

pub mod async_io;
pub mod com;
pub mod file;
pub mod file_mapping;
pub mod interp;
pub mod mailslots;
pub mod messages;
pub mod msmq;
pub mod named_pipes;
pub mod network;
pub mod pipes;
pub mod shared_memory;
pub mod sockets;
mod sync;
pub mod timers;

/// A built-in scenario.
pub struct Scenario {
    /// Its name (`winsim run NAME`).
    pub name: &'static str,
    /// One line saying what it teaches.
    pub summary: &'static str,
    /// What a run is expected to show: "completes on every seed", "deadlocks on every
    /// seed", "deadlocks on some seeds".
    pub expect: &'static str,
    /// Registers the scenario's programs.
    pub install: fn(&mut Sim),
    /// The command line of the first process.
    pub main: &'static str,
}

impl Scenario {
    /// The outcome kinds (`Outcome::kind`) a run may end with and still be what
    /// `expect` says, read from its wording: "deadlocks on every seed" is a deadlock;
    /// "on some seeds" (or "on seeds where") adds the outcome to completion; anything
    /// else describes a completed run (its exit codes are the program's to check).
    pub fn expected_kinds(&self) -> Vec<&'static str> {
        let e = self.expect.to_lowercase();
        let some = e.contains("some seeds") || e.contains("seeds where") || e.contains(" or ");
        let (deadlock, fails, steps) = (
            e.starts_with("deadlock"),
            e.starts_with("fail") || e.contains("or fails"),
            e.contains("step limit") || e.contains("steplimit") || e.contains("livelock"),
        );
        let mut kinds = Vec::new();
        if some || !(deadlock || fails || steps) {
            kinds.push("completed");
        }
        if deadlock {
            kinds.push("deadlock");
        }
        if fails {
            kinds.push("failed");
        }
        if steps {
            kinds.push("step-limit");
        }
        // A run that never ends may be told a livelock (kernel/livelock.rs).
        if e.contains("livelock") {
            kinds.push("livelock");
        }
        // The race detector's outcome (docs/semantics.md §25).
        if e.contains("data race") {
            kinds.push("data-race");
        }
        kinds
    }

    /// Runs the scenario once with `config`.
    pub fn run(&self, config: Config) -> RunReport {
        let mut sim = Sim::new(config);
        (self.install)(&mut sim);
        sim.run_command_line(self.main)
    }
}

/// Every built-in scenario, in catalogue order.
pub fn catalogue() -> Vec<Scenario> {
    vec![
        pipes::redirect_fixed(),
        pipes::redirect_leaked_write_end(),
        pipes::pipe_quota_arithmetic(),
        pipes::pipe_clog(),
        pipes::sync_handle_serialization(),
        sync::lost_wakeup_pulse_event(),
        timers::periodic_timer_missed_periods(),
        timers::periodic_timer_count_periods(),
        named_pipes::named_pipe_busy(),
        named_pipes::named_pipe_busy_fixed(),
        named_pipes::named_pipe_instance_gap(),
        named_pipes::named_pipe_instance_gap_fixed(),
        named_pipes::pipe_connected_is_success(),
        named_pipes::pipe_connected_is_success_fixed(),
        named_pipes::message_more_data(),
        named_pipes::message_more_data_fixed(),
        async_io::iocp_echo_server(),
        async_io::iocp_echo_server_shared_overlapped(),
        async_io::apc_never_runs(),
        async_io::apc_alertable_wait(),
        messages::sendmessage_no_pump(),
        messages::sendmessage_msgwait(),
        messages::sendmessage_join_deadlock(),
        messages::sendmessage_join_pumping(),
        messages::copydata_client_server(),
        mailslots::mailslot_two_writers(),
        shared_memory::shm_ring_buffer(),
        shared_memory::shm_create_race(),
        shared_memory::shm_ring_early_publish(),
        // COM apartments (§21)
        com::com_sta_no_pump(),
        com::com_sta_cowait(),
        com::com_raw_pointer_race(),
        com::com_reentrancy(),
        com::com_reentrancy_filtered(),
        com::com_input_sync_call(),
        com::com_ui_on_mta(),
        com::com_ui_on_sta(),
        com::com_wrong_thread_proxy(),
        com::com_marshalled_proxy(),
        com::com_shutdown_order(),
        com::com_init_table(),
        com::com_local_server_no_pump(),
        com::com_local_server_cowait(),
        sockets::tcp_message_split(),
        sockets::tcp_message_split_fixed(),
        sockets::connect_refused_race(),
        sockets::connect_refused_race_fixed(),
        sockets::abortive_close_lost_response(),
        sockets::abortive_close_lost_response_fixed(),
        sockets::port_hijack(),
        sockets::port_hijack_fixed(),
        sockets::iocp_skip_on_success_hang(),
        sockets::iocp_skip_on_success_fixed(),
        // Hosts and the simulated network (§27): teaching case 4.
        network::partition_retry_double_charge(),
        network::partition_retry_idempotent(),
        msmq::msmq_reply_by_arrival_order(),
        msmq::msmq_reply_by_correlation_id(),
        msmq::msmq_poison_message(),
        msmq::msmq_poison_message_moved_aside(),
        msmq::msmq_priority_starvation(),
        msmq::msmq_reply_expired(),
        msmq::msmq_receiver_exits(),
        // Files behind mappings (§28; issue 7, teaching case 5)
        file_mapping::file_record_via_view(),
        file_mapping::file_record_unpublished(),
    ]
}

/// The scenario files built into winsim (`scenarios/catalogue/*.kdl`): (file name, text).
pub fn files() -> &'static [(&'static str, &'static str)] {
    macro_rules! files {
        ($($name:literal),* $(,)?) => {
            &[$(($name, include_str!(concat!("../catalogue/", $name)))),*]
        };
    }
    files![
        "pipe-both-write.kdl",
        "named-pipe-echo.kdl",
        "semaphore-worker-pool.kdl",
        "post-progress.kdl",
        "post-progress-fixed.kdl",
        "gui-worker-sendmessage.kdl",
        "gui-worker-msgwait.kdl",
        "broken-pipe-errors.kdl",
        "pipe-wait-before-read.kdl",
        "shm-lost-update.kdl",
        "shm-interlocked.kdl",
        "redirect-grandchild-holds-pipe.kdl",
        "mutex-abandoned.kdl",
        "posted-message-quota.kdl",
        "spawn-race-inheritance.kdl",
        "sendmessage-timeout-hung.kdl",
        "wait-64-handles.kdl",
        "wm-quit-nested-loop.kdl",
        "msgwait-stale-input.kdl",
        "sendmessage-to-hung-window.kdl",
        "section-lifetime-and-namespace.kdl",
        "pipe-poll-vs-wait.kdl",
        "single-instance-race.kdl",
        "process-supervisor-waits.kdl",
        "iocp-one-exit-packet-per-worker.kdl",
        "apc-needs-alertable-wait.kdl",
        "filtered-getmessage-starves-window.kdl",
        "thread-message-eaten-by-modal-loop.kdl",
        "socket-inherited-listener.kdl",
        "com-sta-blocked-wait.kdl",
        "com-proxy-wrong-apartment.kdl",
        "com-local-server-stops-pumping.kdl",
        "msmq-transactional-send-to-plain-queue.kdl",
        "msmq-poison-message-batch.kdl",
        "global-mapping-service-client.kdl",
    ]
}

/// The built-in scenario files, parsed. A file that does not parse is a bug in winsim
/// (a test parses them all), reported here rather than hidden.
pub fn file_catalogue() -> Vec<std::sync::Arc<file::ScenarioFile>> {
    files()
        .iter()
        .map(|(name, text)| match file::parse(text, &format!("scenarios/catalogue/{name}")) {
            Ok(f) => std::sync::Arc::new(f),
            Err(e) => panic!("built-in scenario file does not parse: {e}"),
        })
        .collect()
}

/// Finds a built-in scenario file by its scenario name.
pub fn find_file(name: &str) -> Option<std::sync::Arc<file::ScenarioFile>> {
    file_catalogue().into_iter().find(|f| f.name == name)
}

/// Finds a scenario by name.
pub fn find(name: &str) -> Option<Scenario> {
    catalogue().into_iter().find(|s| s.name == name)
}
