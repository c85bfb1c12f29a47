//! The conformance kit's own mutation suite: the faulty driver sets of
//! `smartpos_testing::mutants`, each breaking exactly one documented contract, run through
//! `conformance::run`. Every mutant must be caught, and by the check named for its contract
//! alone; the kill rate is printed and must stay 100 %.

use smartpos_hal::conformance::run;
use smartpos_testing::mutants::{Fault, Mutant, MUTANTS};

#[test]
fn every_mutant_is_caught_by_the_check_for_its_contract() {
    let clean = Mutant::new(None);
    let report = run(&clean.subject());
    assert!(
        report.passed(),
        "the unmutated set: {:#?}",
        report.failures()
    );
    let checks: Vec<&str> = report.checks.iter().map(|c| c.id).collect();

    let results: Vec<(Fault, &str, Vec<&'static str>)> = std::thread::scope(|s| {
        let handles: Vec<_> = MUTANTS
            .iter()
            .map(|(fault, want)| {
                s.spawn(move || {
                    let m = Mutant::new(Some(*fault));
                    let failed = run(&m.subject()).failures().iter().map(|c| c.id).collect();
                    (*fault, *want, failed)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut caught = 0;
    let mut wrong = Vec::new();
    for (fault, want, failed) in &results {
        assert!(checks.contains(want), "{want} is not a check of the kit");
        if failed == &vec![*want] {
            caught += 1;
        } else {
            wrong.push(format!(
                "{fault:?}: expected exactly [{want}], failed {failed:?}"
            ));
        }
    }
    println!(
        "conformance mutation suite: {caught}/{} mutants caught, each by its own check ({}%)",
        MUTANTS.len(),
        caught * 100 / MUTANTS.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
