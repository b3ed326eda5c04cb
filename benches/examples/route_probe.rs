//! Instruction-count probe of the outbound decision: run under `valgrind --tool=callgrind`
//! (once with 0 calls for the setup, once with N) and divide the difference by N. The traffic
//! is `tpr bench`'s mix on the bundled contoso tenant, drawn from a fixed seed. Not a
//! benchmark: instruction counts are repeatable on a noisy machine, times are not.
//! `route_probe N digest` prints a hash of the N decisions instead, to check that a change
//! to the engine left every decision as it was.
use std::hint::black_box;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use tpr_router::{Call, Engine, Scratch, State, UserId};

const CONTOSO: &str = include_str!("../../scenarios/tenants/contoso.toml");

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let tenant = tpr_tenant::Tenant::from_toml_str(CONTOSO, "contoso.toml").expect("loads");
    let engine = Engine::compile(&tenant).expect("compiles");
    let state = State::new(&engine);
    let mut scratch = Scratch::new();
    let users: Vec<UserId> = (0..engine.user_count() as u32)
        .map(UserId::from_index)
        .filter(|u| engine.number_of(*u).is_some())
        .collect();
    let mut rng = Pcg64Mcg::seed_from_u64(1);
    let areas = ["425", "206", "312", "415", "212"];
    let calls: Vec<(UserId, String)> = (0..10_000)
        .map(|_| {
            let user = users[rng.random_range(0..users.len())];
            let area = areas[rng.random_range(0..areas.len())];
            let line: u32 = rng.random_range(0..10_000);
            let dialed = match rng.random_range(0..100) {
                0..30 => format!("+1{area}555{line:04}"),
                30..50 => format!("({area}) 555-{line:04}"),
                50..65 => format!("555{line:04}"),
                65..80 => format!("{line:04}"),
                80..90 => format!("+44 20 7946 {:04}", line % 1000),
                90..95 => {
                    let other = users[rng.random_range(0..users.len())];
                    engine.number_of(other).unwrap_or("911").to_owned()
                }
                _ => "911".to_owned(),
            };
            (user, dialed)
        })
        .collect();
    let digest = std::env::args().nth(2).is_some_and(|a| a == "digest");
    let mut hash = std::hash::DefaultHasher::new();
    for i in 0..n {
        let (user, dialed) = &calls[i % calls.len()];
        let call = Call::new(*user, dialed);
        let decision = engine.decide(&state, &call, &mut scratch, &mut rng, 0);
        if digest {
            std::hash::Hash::hash(&format!("{decision:?}"), &mut hash);
        }
        black_box(decision);
    }
    if digest {
        println!("{:016x}", std::hash::Hasher::finish(&hash));
    }
}
