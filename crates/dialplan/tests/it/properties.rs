//! Property tests: the compiled plan against the reference on random Teams-like rule sets,
//! and translation templates against their meaning.

use proptest::prelude::*;
use tpr_dialplan::{
    Cache, CacheSource, CompiledPlan, DialPlan, DialString, Limits, Mode, ReferencePlan, Rule,
    ServiceReference, Walk, service_plan,
};
use tpr_types::Region;

/// A pattern piece of the kind real rules are made of.
fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,4}",
        Just(r"\d".to_owned()),
        (0u8..4, 1u8..6).prop_map(|(a, b)| format!(r"\d{{{a},{}}}", a + b)),
        (1u8..12).prop_map(|n| format!(r"\d{{{n}}}")),
        Just(r"\d+".to_owned()),
        Just(r"\d*".to_owned()),
        Just("[2-9]".to_owned()),
        Just(r"\+?".to_owned()),
        Just(r"\+".to_owned()),
        ("[0-9]{1,3}", "[0-9]{1,3}").prop_map(|(a, b)| format!("(?:{a}|{b})")),
        Just(r"[*#]".to_owned()),
        "[0-9]{1,2}".prop_map(|d| format!("(?!{d})")),
        "[0-9]{1,2}".prop_map(|d| format!("(?={d})")),
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    (any::<bool>(), proptest::collection::vec((atom(), 0u8..3), 1..5), any::<bool>()).prop_map(
        |(start, parts, end)| {
            let mut p = String::new();
            if start {
                p.push('^');
            }
            for (a, group) in parts {
                match group {
                    0 => p.push_str(&a),
                    1 => p.push_str(&format!("({a})")),
                    _ => p.push_str(&format!("(?<g{}>{a})", p.len())),
                }
            }
            if end {
                p.push('$');
            }
            p
        },
    )
}

fn translation() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[0-9]{0,4}",
            Just("+".to_owned()),
            (0u8..5).prop_map(|g| format!("${g}")),
            (0u8..4).prop_map(|g| format!("${{{g}}}")),
            Just("$$".to_owned()),
            Just("$&".to_owned()),
            Just("$+".to_owned()),
            Just("$10".to_owned()),
        ],
        0..5,
    )
    .prop_map(|v| v.concat())
}

fn plan() -> impl Strategy<Value = DialPlan> {
    let prefix = prop_oneof![3 => Just(None), 1 => Just(Some("9")), 1 => Just(Some("81"))];
    (proptest::collection::vec((pattern(), translation()), 1..8), prefix).prop_map(
        |(rules, prefix)| {
            let mut plan = DialPlan::new(
                "Prop",
                rules
                    .into_iter()
                    .enumerate()
                    .map(|(i, (p, t))| Rule::new(format!("r{i}"), p, t))
                    .collect(),
            );
            plan.external_access_prefix = prefix.map(str::to_owned);
            plan
        },
    )
}

/// A plan's cache kept apart from the pass buffer, counting how often normalization asks for
/// it (what a router keeping the caches of many plans does).
struct Counting<'a> {
    cache: &'a mut Cache,
    pass: String,
    fetches: usize,
}

impl CacheSource for Counting<'_> {
    fn cache_for(&mut self, _plan: &CompiledPlan) -> &mut Cache {
        self.fetches += 1;
        self.cache
    }

    fn pass_buffer(&mut self) -> &mut String {
        &mut self.pass
    }
}

/// `plan` normalizes the cleaned `dialed` the same with `walk` as without it, and the same
/// with a cache asked for only when needed as with the plan's own.
fn walked_agrees(
    plan: &CompiledPlan,
    cache: &mut Cache,
    dialed: &DialString,
    walk: &Walk<'_>,
) -> Result<(), TestCaseError> {
    for mode in [Mode::Effective, Mode::TenantScopeOnly] {
        let (mut a, mut b, mut c) = (String::new(), String::new(), String::new());
        let plain = plan.normalize_clean(cache, dialed, mode, &mut a);
        let walked = plan.normalize_walked(cache, dialed, mode, &mut b, walk);
        prop_assert_eq!(plain, walked, "{:?} {:?}", dialed, mode);
        prop_assert_eq!(&a, &b, "{:?} {:?}", dialed, mode);
        let mut source = Counting { cache: &mut *cache, pass: String::new(), fetches: 0 };
        let apart = plan.normalize_walked(&mut source, dialed, mode, &mut c, walk);
        prop_assert_eq!(plain, apart, "{:?} {:?}", dialed, mode);
        prop_assert_eq!(&a, &c, "{:?} {:?}", dialed, mode);
    }
    Ok(())
}

fn dialed() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[0-9]{1,15}",
        1 => "\\+[0-9]{1,15}",
        1 => "[0-9*#]{1,8}",
        1 => "[0-9 ()-]{1,16}",
        // Cleanup turns other scripts' digits into ASCII ones; a walk skips them.
        1 => "[0-9 \u{664}\u{FF14}\u{96A}-]{1,12}",
        // Access prefixes behind separators, or with nothing after them.
        1 => "[ (-]?9[ -]?[0-9]{0,11}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn compiled_equals_reference(plan in plan(), inputs in proptest::collection::vec(dialed(), 1..12), region in prop_oneof![Just("US"), Just("NZ"), Just("DE")]) {
        let service = service_plan(Region::try_new(region).unwrap()).unwrap();
        // Compact rows (the default) and the lazy DFA.
        for compact_plans in [true, false] {
            let limits = Limits { compact_plans, ..Limits::default() };
            let compiled = CompiledPlan::compile(Some(&plan), service, &limits);
            let reference = ReferencePlan::new(Some(&plan), service, &limits);
            let (compiled, reference) = match (compiled, reference) {
                (Ok(c), Ok(r)) => (c, r),
                // Generated patterns can be invalid (a quantifier after nothing, say); then
                // both must refuse them.
                (Err(_), Err(_)) => return Ok(()),
                (c, r) => panic!("compiled {:?} vs reference {:?}", c.err(), r.err()),
            };
            let mut cache = compiled.create_cache();
            for input in &inputs {
                for mode in [Mode::Effective, Mode::TenantScopeOnly] {
                    let agreed = reference.diff(&compiled, &mut cache, input, mode);
                    prop_assert!(agreed.is_ok(), "{}", agreed.unwrap_err());
                }
                // A walk of any input ends, within a step a byte and a few more; at any step,
                // normalizing with it gives what normalizing without it does.
                let cleaned = DialString::try_clean(input).ok();
                let mut walk = compiled.walk(input);
                let mut steps = 0;
                while walk.step() {
                    steps += 1;
                    prop_assert!(steps <= input.len() + 4, "walk of {input:?} goes on");
                    // Asking again for what it read is a hint at any point.
                    walk.refresh();
                    if let Some(d) = &cleaned {
                        walked_agrees(&compiled, &mut cache, d, &walk)?;
                    }
                }
                walk.refresh();
                if let Some(d) = &cleaned {
                    walked_agrees(&compiled, &mut cache, d, &walk)?;
                }
            }
        }
    }

    /// A reference built on a service plan compiled once (`with_service`, what the fuzz
    /// target does) is the reference `new` builds: the same refusals, the same results.
    #[test]
    fn a_shared_service_reference_builds_the_same_plan(plan in plan(), inputs in proptest::collection::vec(dialed(), 1..8), region in prop_oneof![Just("US"), Just("NZ"), Just("AU"), Just("DE")]) {
        let service = service_plan(Region::try_new(region).unwrap()).unwrap();
        let limits = Limits::default();
        let shared = ServiceReference::new(service, &limits).unwrap();
        match (ReferencePlan::new(Some(&plan), service, &limits), ReferencePlan::with_service(Some(&plan), &shared)) {
            (Ok(alone), Ok(on_shared)) => {
                for input in &inputs {
                    for mode in [Mode::Effective, Mode::TenantScopeOnly] {
                        prop_assert_eq!(alone.normalize(input, mode), on_shared.normalize(input, mode), "{:?}", input);
                    }
                }
            }
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => panic!("new {:?} vs with_service {:?}", a.err(), b.err()),
        }
    }

    /// A template assembled from literal text and group references, written in .NET syntax,
    /// expands to the concatenation of the literal text and the groups' text.
    #[test]
    fn templates_round_trip(pieces in proptest::collection::vec(prop_oneof![
        "[0-9a-z+;=]{1,4}".prop_map(Piece::Lit),
        (0usize..4).prop_map(Piece::Group),
        Just(Piece::Dollar),
    ], 0..8)) {
        // Groups: 0 = whole "123", 1 = "1", 2 = "2", 3 = "3".
        let groups = ["123", "1", "2", "3"];
        let mut tpl = String::new();
        let mut want = String::new();
        for p in &pieces {
            match p {
                Piece::Lit(s) => { tpl.push_str(s); want.push_str(s); }
                // Braces keep a following digit from joining the number.
                Piece::Group(g) => { tpl.push_str(&format!("${{{g}}}")); want.push_str(groups[*g]); }
                Piece::Dollar => { tpl.push_str("$$"); want.push('$'); }
            }
        }
        let plan = DialPlan::new("Tpl", vec![Rule::new("t", r"^(\d)(\d)(\d)$", tpl.clone())]);
        let us = service_plan(Region::try_new("US").unwrap()).unwrap();
        let compiled = CompiledPlan::compile(Some(&plan), us, &Limits::default()).unwrap();
        let mut cache = compiled.create_cache();
        let mut out = String::new();
        compiled.normalize_with(&mut cache, "123", Mode::TenantScopeOnly, &mut out).unwrap();
        prop_assert_eq!(out, want, "template {:?}", tpl);
    }
}

#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    Group(usize),
    Dollar,
}

/// Found by `compiled_equals_reference`: fancy-regex 0.20.0 (the reference's engine) matched
/// `(\d+)\d+\+?\d+` on "00", which has too few digits, so the reference translated a number
/// no rule matches. Fixed upstream in 0.20.2, the version the workspace now asks for.
#[test]
fn reference_engine_needs_three_digits_for_three_repeats() {
    let plan = DialPlan {
        name: "Prop".into(),
        rules: vec![Rule::new("r0", r"(\d+)\d+\+?\d+", "${1}")],
        ..DialPlan::default()
    };
    let service = service_plan(Region::try_new("US").unwrap()).unwrap();
    let limits = Limits::default();
    let compiled = CompiledPlan::compile(Some(&plan), service, &limits).unwrap();
    let reference = ReferencePlan::new(Some(&plan), service, &limits).unwrap();
    let r = reference.normalize("00", Mode::Effective).unwrap();
    assert_eq!((r.output.as_str(), r.first), ("+100", None));
    let mut cache = compiled.create_cache();
    assert!(reference.diff(&compiled, &mut cache, "00", Mode::Effective).is_ok());
    assert_eq!(reference.normalize("000", Mode::Effective).unwrap().first, Some(0));
}

/// The first-match automaton is a lazy DFA whose states live in the thread's cache. A rule
/// whose DFA has thousands of states (`1` twelve digits from the end), with a cache room for
/// far fewer, makes the cache fill and be cleared again and again; the answers must not change.
#[test]
fn a_lazy_dfa_cache_that_keeps_filling_up_gives_the_same_answers() {
    let plan = DialPlan::new(
        "Exploding",
        vec![
            Rule::new("Twelve", r"^\d*1\d{12}$", "+$0"),
            Rule::new("Ext", r"^(\d{4})$", "+1425555$1"),
            Rule::new("Rest", r"^(\d+)$", "+9$1"),
        ],
    );
    let service = service_plan(Region::try_new("US").unwrap()).unwrap();
    let limits = Limits { max_plan_bytes: 256 << 10, compact_plans: false, ..Limits::default() };
    let compiled = CompiledPlan::compile(Some(&plan), service, &limits).unwrap();
    assert!(compiled.has_first_match_automaton() && !compiled.has_compact_rows());
    let reference = ReferencePlan::new(Some(&plan), service, &Limits::default()).unwrap();
    let mut cache = compiled.create_cache();
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut twelve = 0;
    for _ in 0..5_000 {
        let dialed: String = (0..40)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'0' + (x % 10) as u8)
            })
            .collect();
        if dialed.as_bytes()[40 - 13] == b'1' {
            twelve += 1;
        }
        if let Err(diff) = reference.diff(&compiled, &mut cache, &dialed, Mode::Effective) {
            panic!("{diff}");
        }
    }
    assert!(twelve > 300, "the inputs hit both rules");
    assert!(cache.automaton_clears() > 0, "the cache never filled up");
}

/// A cache remembers the rules of the match states it met last (a few of them); inputs that
/// end in more match states than it keeps, in turn and over and over, still get their own rule.
#[test]
fn a_cache_reused_across_many_rules_names_each_input_s_own_rule() {
    let rules: Vec<Rule> = (1..=9)
        .map(|d| Rule::new(format!("R{d}"), format!(r"^{d}(\d{{{d}}})$"), format!("+{d}$1")))
        .collect();
    let plan = DialPlan::new("Many", rules);
    let service = service_plan(Region::try_new("US").unwrap()).unwrap();
    // The memo belongs to the lazy DFA.
    let limits = Limits { compact_plans: false, ..Limits::default() };
    let compiled = CompiledPlan::compile(Some(&plan), service, &limits).unwrap();
    let mut cache = compiled.create_cache();
    let mut out = String::new();
    for round in 0..3 {
        for d in (1..=9).rev().chain(1..=9) {
            let dialed = format!("{d}{}", "7".repeat(d));
            let outcome = compiled.normalize_with(&mut cache, &dialed, Mode::Effective, &mut out);
            let name = compiled.describe(&outcome.unwrap());
            assert_eq!(name, format!("R{d}"), "round {round}, {dialed}");
            assert_eq!(out, format!("+{d}{}", "7".repeat(d)));
        }
    }
}

/// Plans compile to compact rows by default and to a lazy DFA with `compact_plans` off; either
/// way they normalize the same, and a walk of the rows over a cleaned input ends at the rule
/// the first pass picks (these plans have no lookaround).
/// 46 site rules, national, service and international rules, and one that matches anywhere;
/// external access prefix 9.
fn sites_plan() -> DialPlan {
    let mut rules: Vec<Rule> = (0..46)
        .map(|k| {
            Rule::new(format!("Site{k}"), format!(r"^7{k:02}(\d{{4}})$"), format!("+1425{k:03}$1"))
        })
        .collect();
    rules.push(Rule::new("National", r"^1?([2-9]\d\d[2-9]\d{6})\d*(\D+\d+)?$", "+1$1"));
    rules.push(Rule::new("Service", r"^([2-9]11)$", "$1"));
    rules.push(Rule::new(
        "Intl",
        r"^(?:\+|011)(1|7|2[07]|3[0-46]|44|49)(?:0)?(\d{6,14})(\D+\d+)?$",
        "+$1$2",
    ));
    rules.push(Rule::new("Anywhere", r"55(\d)", "+6455$1"));
    let mut plan = DialPlan::new("Sites", rules);
    plan.external_access_prefix = Some("9".to_owned());
    plan
}

#[test]
fn compact_rows_and_the_lazy_dfa_agree_and_walks_end_at_the_winner() {
    let plan = sites_plan();
    let service = service_plan(Region::try_new("US").unwrap()).unwrap();
    let compact = CompiledPlan::compile(Some(&plan), service, &Limits::default()).unwrap();
    let lazy_limits = Limits { compact_plans: false, ..Limits::default() };
    let lazy = CompiledPlan::compile(Some(&plan), service, &lazy_limits).unwrap();
    assert!(compact.has_compact_rows() && !lazy.has_compact_rows());
    assert!(lazy.has_first_match_automaton());
    let (mut c1, mut c2) = (compact.create_cache(), lazy.create_cache());
    let (mut o1, mut o2) = (String::new(), String::new());
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let mut hits = 0;
    for n in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let digits = ["7", "1", "011", "+", "9", "", "55"][(x % 7) as usize];
        let tail: String = (0..(x >> 8) % 14)
            .map(|i| char::from(b'0' + ((x >> (12 + 3 * i)) % 10) as u8))
            .collect();
        let dialed = format!("{digits}{tail}");
        let a = compact.normalize_with(&mut c1, &dialed, Mode::Effective, &mut o1);
        let b = lazy.normalize_with(&mut c2, &dialed, Mode::Effective, &mut o2);
        assert_eq!(a, b, "{dialed}");
        assert_eq!(o1, o2, "{dialed}");
        let Ok(outcome) = a else { continue };
        let mut walk = compact.walk(&dialed);
        let mut steps = 0;
        while walk.step() {
            steps += 1;
            assert!(steps <= dialed.len() + 4, "{dialed}: the walk goes on");
        }
        walk.refresh();
        assert_eq!(walk.rule(), outcome.first, "{n}: {dialed}");
        hits += usize::from(outcome.first.is_some());
    }
    assert!(hits > 5_000, "the inputs hit rules ({hits})");
}

/// A walk that read all of an ASCII dial string hands its match list to normalization, which
/// then skips its own scan of the rows: the same results as without the walk for dial strings
/// written every way (separators, an access prefix behind a separator or alone, other
/// scripts' digits, which a walk skips and so cannot stand in for).
#[test]
fn walks_that_read_all_stand_in_for_the_scan() {
    let compact = CompiledPlan::compile(
        Some(&sites_plan()),
        service_plan(Region::try_new("US").unwrap()).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let other = CompiledPlan::compile(
        None,
        service_plan(Region::try_new("US").unwrap()).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let mut cache = compact.create_cache();
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let (mut read_all, mut not_read_all) = (0, 0);
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let lead = ["", "9", " 9", "9-", "(9)", "9 ", "+", "011 ", "7"][(x % 9) as usize];
        let mut dialed = lead.to_owned();
        for i in 0..(x >> 8) % 13 {
            let r = (x >> (12 + 4 * i)) % 16;
            match r {
                0 => dialed.push('-'),
                1 => dialed.push(' '),
                2 => dialed.push('\u{664}'),
                _ => dialed.push(char::from(b'0' + (r % 10) as u8)),
            }
        }
        let Ok(cleaned) = DialString::try_clean(&dialed) else { continue };
        let mut walk = compact.walk(&dialed);
        while walk.step() {}
        if walk.read_all() {
            read_all += 1;
        } else {
            not_read_all += 1;
        }
        if let Err(e) = walked_agrees(&compact, &mut cache, &cleaned, &walk) {
            panic!("{dialed:?}: {e}");
        }
        // A walk of another plan is ignored.
        let mut other_cache = other.create_cache();
        walked_agrees(&other, &mut other_cache, &cleaned, &walk).unwrap();
    }
    assert!(read_all > 5_000 && not_read_all > 1_000, "{read_all} read all, {not_read_all} not");
}

/// Compact rows to a rule whose captures a layout or splits fill ask for no cache (a router
/// keeping thousands of plans' caches need not look one up); a rule that runs an engine of its
/// own, or a plan without compact rows, does.
#[test]
fn a_cache_is_asked_for_only_when_a_rule_needs_one() {
    let us = service_plan(Region::try_new("US").unwrap()).unwrap();
    let compact = CompiledPlan::compile(Some(&sites_plan()), us, &Limits::default()).unwrap();
    let fetches = |plan: &CompiledPlan, dialed: &str| {
        let mut cache = plan.create_cache();
        let mut source = Counting { cache: &mut cache, pass: String::new(), fetches: 0 };
        let cleaned = DialString::try_clean(dialed).unwrap();
        let mut out = String::new();
        let outcome = plan.normalize_clean(&mut source, &cleaned, Mode::Effective, &mut out);
        (out, outcome.first.map(|r| plan.rule(r).name.clone()), source.fetches)
    };
    // Layouts and splits: a site extension, national and international numbers, and a
    // service code whose first pass leaves no `+`, so a second pass runs.
    let service = fetches(&compact, "411");
    assert_eq!((service.1.as_deref(), service.2), (Some("Service"), 0), "{service:?}");
    let passes = compact.explain("411", Mode::Effective).unwrap().passes.len();
    assert_eq!(passes, 2, "411 takes a second pass");
    let site = fetches(&compact, "7041234");
    assert_eq!(site, ("+14250041234".to_owned(), Some("Site4".to_owned()), 0));
    let national = fetches(&compact, "14255550100");
    assert_eq!(national, ("+14255550100".to_owned(), Some("National".to_owned()), 0));
    let intl = fetches(&compact, "011 44 20 7946 0958");
    assert_eq!(intl, ("+442079460958".to_owned(), Some("Intl".to_owned()), 0));
    // A rule with lookahead runs its backtracking engine, which needs the cache.
    let look = DialPlan::new("Look", vec![Rule::new("NotZero", r"^(?!0)(\d{4})$", "+1425555$1")]);
    let look = CompiledPlan::compile(Some(&look), us, &Limits::default()).unwrap();
    let (out, rule, n) = fetches(&look, "1234");
    assert_eq!((out.as_str(), rule.as_deref()), ("+14255551234", Some("NotZero")));
    assert!(n > 0, "the lookahead rule's engine needs the cache");
    // Without compact rows the lazy DFA's states live in the cache.
    let lazy_limits = Limits { compact_plans: false, ..Limits::default() };
    let lazy = CompiledPlan::compile(Some(&sites_plan()), us, &lazy_limits).unwrap();
    let (out, _, n) = fetches(&lazy, "7041234");
    assert_eq!((out.as_str(), n > 0), ("+14250041234", true));
}
