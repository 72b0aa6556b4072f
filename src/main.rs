#![forbid(unsafe_code)]
fn main() {
    let name = std::env::args().nth(1).unwrap_or("redirect-leaked-write-end".into());
    let seed: u64 = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(1);
    let s = scenarios::find(&name).expect("scenario");
    let r = s.run(sim_core::Config::random(seed));
    print!("{}", r.trace_text());
    print!("{}", r.summary());
}
