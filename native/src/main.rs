//! `winsim-native`: the differential runner.
//!
//! - `winsim-native native [PREFIX]` (Windows): runs every case (or those whose name
//!   starts with PREFIX) with the real Win32 calls and prints the log; a process started as `winsim-native --winsim-program NAME ...`
//!   runs the registered program NAME instead.
//! - `winsim-native sim [SEED]`: runs every case in the simulator and prints the log.
//! - `winsim-native compare SIM_LOG NATIVE_LOG [MANIFEST]`: compares two logs and
//!   prints the findings and totals; exits 1 on a real disagreement.

use winsim_native::compare::{compare, parse_manifest};

fn read_lines(path: &str) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(t) => {
            t.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
        }
        Err(e) => {
            eprintln!("winsim-native: cannot read {path}: {e}");
            std::process::exit(2);
        }
    }
}

fn main() {
    #[cfg(windows)]
    {
        winsim_native::win::register_programs(winsim_native::cases::programs());
        winsim_native::win::dispatch_program();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        #[cfg(windows)]
        Some("native") => {
            winsim_native::win::run_all(args.get(1).map(String::as_str));
            std::process::exit(0);
        }
        Some("sim") => {
            let seed = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
            for line in winsim_native::sim_side::run_all(seed) {
                println!("{line}");
            }
        }
        Some("compare") if args.len() >= 3 => {
            let manifest_text = match args.get(3) {
                Some(p) => std::fs::read_to_string(p).unwrap_or_else(|e| {
                    eprintln!("winsim-native: cannot read {p}: {e}");
                    std::process::exit(2)
                }),
                None => winsim_native::MANIFEST.to_string(),
            };
            let manifest = parse_manifest(&manifest_text).unwrap_or_else(|e| {
                eprintln!("winsim-native: {e}");
                std::process::exit(2)
            });
            let c = compare(&read_lines(&args[1]), &read_lines(&args[2]), &manifest);
            print!("{}", c.render());
            if c.disagreements() > 0 {
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("usage: winsim-native native [PREFIX] | sim [SEED] | compare SIM_LOG NATIVE_LOG [MANIFEST]");
            std::process::exit(2);
        }
    }
}
