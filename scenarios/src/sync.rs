//! Synchronisation scenarios.

use crate::Scenario;
use sim_core::prelude::*;

/// A lost wake-up: one thread waits on an auto-reset event, another pulses it. If the
/// pulse comes before the wait begins, nobody is waiting, the pulse is lost, and the
/// waiter sleeps forever (PulseEvent doc; Raymond Chen, "PulseEvent is fundamentally
/// flawed").
pub fn lost_wakeup_pulse_event() -> Scenario {
    Scenario {
        name: "lost-wakeup-pulse-event",
        summary: "PulseEvent races another thread's WaitForSingleObject: the wake-up is lost on some seeds",
        expect: "deadlocks on some seeds, completes on others",
        install: |sim| {
            sim.program("pulse.exe", |ctx| async move {
                let ev = ctx.create_event(None, false, false, None).await;
                let waiter = ctx
                    .create_thread(
                        None,
                        0,
                        move |ctx| async move {
                            ctx.wait_for_single_object(ev, INFINITE).await;
                            0
                        },
                        0,
                        None,
                    )
                    .await;
                ctx.pulse_event(ev).await;
                ctx.wait_for_single_object(waiter, INFINITE).await;
                0
            });
        },
        main: "pulse.exe",
    }
}
