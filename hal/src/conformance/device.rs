//! Device information checks: formats read as the compliance profile reads them, modules, the same answer on every call.

use super::*;

pub(super) fn device_checks(kit: &mut Kit, device: &dyn DeviceInfoProvider) {
    use super::compliance::{parse_security_patch, parse_version};
    use super::device::HardwareModule as M;
    let info = device.device_information();
    let mut bad = Vec::new();
    for (field, value) in [
        ("vendor", &info.vendor),
        ("model", &info.model),
        ("serial", &info.serial),
    ] {
        if value.trim().is_empty() {
            bad.push(format!("{field} is empty"));
        }
    }
    if parse_version(&info.os_version).is_none() {
        bad.push(format!(
            "os_version {:?} is not dotted numbers",
            info.os_version
        ));
    }
    if parse_security_patch(&info.security_patch).is_none() {
        bad.push(format!(
            "security_patch {:?} is not a date YYYY-MM-DD",
            info.security_patch
        ));
    }
    kit.check(
        "device.information",
        "vendor, model and serial are not empty; os_version is dotted numbers; security_patch is a calendar date YYYY-MM-DD (read as the compliance profile reads them)",
        if bad.is_empty() { Ok(()) } else { Err(bad.join("; ")) },
    );
    let mut missing: Vec<String> = [M::PinPad, M::Printer, M::Scanner, M::MagStripe]
        .into_iter()
        .filter(|m| !info.modules.contains(m))
        .map(|m| format!("{m:?}"))
        .collect();
    let mut seen = Vec::new();
    for m in &info.modules {
        if seen.contains(m) {
            missing.push(format!("{m:?} listed twice"));
        }
        seen.push(*m);
    }
    kit.check(
        "device.modules",
        "the modules list the PIN pad, printer, scanner and magnetic-stripe reader the kit exercised, each once",
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("modules: missing or wrong: {}", missing.join(", ")))
        },
    );
    let again = device.device_information();
    kit.check(
        "device.consistent",
        "device information is the same on every call (the compliance check at start and the bank's report see one device)",
        if again == info {
            Ok(())
        } else {
            Err(format!("first {info:?}, then {again:?}"))
        },
    );
}
