//! winsim's scenario catalogue: built-in teaching cases and known bugs, each a set of
//! simulated programs written against the Win32 surface of `sim-core`.
//!
//! The scenario file format and its interpreter come later (see docs/architecture.md);
//! until then every scenario is Rust code, and the catalogue is what `winsim run NAME`
//! and the snapshot tests use.
#![forbid(unsafe_code)]

use sim_core::prelude::*;

pub mod async_io;
pub mod mailslots;
pub mod messages;
pub mod msmq;
pub mod named_pipes;
pub mod pipes;
pub mod shared_memory;
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
        msmq::msmq_reply_by_arrival_order(),
        msmq::msmq_reply_by_correlation_id(),
        msmq::msmq_poison_message(),
        msmq::msmq_poison_message_moved_aside(),
        msmq::msmq_priority_starvation(),
        msmq::msmq_reply_expired(),
        msmq::msmq_receiver_exits(),
    ]
}

/// Finds a scenario by name.
pub fn find(name: &str) -> Option<Scenario> {
    catalogue().into_iter().find(|s| s.name == name)
}
