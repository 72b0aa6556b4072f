//! Waitable-timer scenarios.

use crate::Scenario;
use sim_core::prelude::*;

/// The timer's period, in milliseconds.
pub const PERIOD_MS: u32 = 10;
/// How many periods the consumer handles.
pub const PERIODS: u32 = 10;

/// A consumer driven by a periodic synchronization timer (period 10 ms) whose work takes
/// 1 ms for most items and 25 ms for every third one. A timer is signalled or not: the
/// periods that pass while the consumer is busy do not queue up, so it sees fewer
/// signals than periods (docs/semantics.md §14.28). The naive consumer handles one item
/// per signal and falls behind the clock; the fixed one counts the periods elapsed since
/// it started from GetTickCount and handles all that are due.
///
/// Exit code: the number of periods the consumer is behind the clock when it stops.
async fn consumer(ctx: ThreadCtx, count_from_clock: bool) -> u32 {
    let timer = ctx.create_waitable_timer(None, false, None).await;
    let start = ctx.get_tick_count().await;
    let due = -(i64::from(PERIOD_MS) * 10_000);
    if ctx.set_waitable_timer(timer, due, PERIOD_MS as i32, None, false).await == FALSE {
        return u32::MAX;
    }
    let mut handled = 0;
    while handled < PERIODS {
        ctx.wait_for_single_object(timer, INFINITE).await;
        let due = if count_from_clock {
            // Every period that has ended since the start is due, however many signals
            // were folded into this one.
            ((ctx.get_tick_count().await - start) / PERIOD_MS).min(PERIODS)
        } else {
            handled + 1
        };
        for item in handled..due {
            ctx.sleep(if item % 3 == 1 { 25 } else { 1 }).await;
        }
        handled = due;
    }
    let _ = ctx.cancel_waitable_timer(timer).await;
    let elapsed = (ctx.get_tick_count().await - start) / PERIOD_MS;
    elapsed.saturating_sub(handled + 1)
}

/// The naive consumer: one item per signal.
pub fn periodic_timer_missed_periods() -> Scenario {
    Scenario {
        name: "periodic-timer-missed-periods",
        summary: "a periodic timer's missed periods do not queue up: one item per signal falls behind the clock",
        expect: "completes on every seed with exit code > 0 (periods behind)",
        install: |sim| {
            sim.program("consumer.exe", |ctx| consumer(ctx, false));
        },
        main: "consumer.exe",
    }
}

/// The fixed consumer: counts elapsed periods from GetTickCount.
pub fn periodic_timer_count_periods() -> Scenario {
    Scenario {
        name: "periodic-timer-count-periods",
        summary: "the fix: count the periods elapsed from GetTickCount and handle every one that is due",
        expect: "completes on every seed with exit code 0",
        install: |sim| {
            sim.program("consumer.exe", |ctx| consumer(ctx, true));
        },
        main: "consumer.exe",
    }
}
