//! Scanner checks: a code read as shown, cancel and timeout contracts.

use super::*;

pub(super) fn scanner_checks(kit: &mut Kit, s: &Subject<'_>) {
    s.operator.show_code(TEST_CODE);
    kit.check(
        "scanner.scan",
        "a shown code is returned exactly, as text (leading zeros kept, longer than any integer)",
        match s.scanner.scan(Duration::from_secs(5)) {
            Ok(c) if c == TEST_CODE => Ok(()),
            other => Err(format!("expected {TEST_CODE}, got {other:?}")),
        },
    );
    kit.check(
        "scanner.timeout",
        "with no code, scan returns Timeout when the time limit passes, at most 10 % + 100 ms late",
        times_out(TIMEOUT, |t| s.scanner.scan(t)),
    );
    kit.check(
        "scanner.cancel",
        "cancel() makes a waiting scan return Cancelled within 200 ms",
        cancels(
            || s.scanner.scan(Duration::from_secs(10)),
            || s.scanner.cancel(),
        ),
    );
    kit.check(
        "scanner.cancel_not_sticky",
        "a cancel with nobody waiting does not cancel the next scan",
        cancel_not_sticky(|| s.scanner.cancel(), |t| s.scanner.scan(t)),
    );
}
