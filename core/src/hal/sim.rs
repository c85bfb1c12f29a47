//! Simulated drivers, scriptable from tests and the CLI.

use super::*;
use crate::card::EntryMode;
use crate::crypto::{cup_ecb_mac, iso9564_format0, DesKey};
use std::collections::VecDeque;

/// What the simulated card reader does on its next `wait_for_card`.
#[derive(Debug, Clone)]
pub enum CardScript {
    /// Presents this track 2 data.
    Card {
        /// Track 2 equivalent data.
        track2: String,
        /// How it is read.
        entry_mode: EntryMode,
    },
    /// Nobody presents a card.
    Timeout,
    /// The customer cancels.
    Cancel,
}

/// A card reader that plays back a script. With an empty script it times out.
///
/// ```
/// use smartpos_core::hal::{sim::{CardScript, SimCardReader}, CardReader};
/// use smartpos_core::card::EntryMode;
/// use smartpos_core::money::{Currency, Money};
/// let mut r = SimCardReader::new([CardScript::Card { track2: "6222021234567890123=3012101".into(), entry_mode: EntryMode::MagStripe }]);
/// let amount = Money::from_minor(1, Currency::CNY).unwrap();
/// let card = r.wait_for_card(&amount, std::time::Duration::from_secs(1)).unwrap();
/// assert_eq!(card.pan().masked(), "622202*********0123");
/// ```
#[derive(Debug, Default)]
pub struct SimCardReader {
    script: VecDeque<CardScript>,
}

impl SimCardReader {
    /// A reader with a script.
    pub fn new(script: impl IntoIterator<Item = CardScript>) -> Self {
        SimCardReader {
            script: script.into_iter().collect(),
        }
    }
    /// Appends to the script.
    pub fn push(&mut self, s: CardScript) {
        self.script.push_back(s);
    }
}

impl CardReader for SimCardReader {
    fn wait_for_card(&mut self, _amount: &Money, _timeout: Duration) -> Result<CardData, HalError> {
        match self.script.pop_front() {
            Some(CardScript::Card { track2, entry_mode }) => {
                CardData::from_track2(&track2, entry_mode)
                    .map_err(|e| HalError::CardError(e.to_string()))
            }
            Some(CardScript::Cancel) => Err(HalError::Cancelled),
            Some(CardScript::Timeout) | None => Err(HalError::Timeout),
        }
    }
}

/// What the simulated PIN pad does on its next `online_pin`.
#[derive(Debug, Clone)]
pub enum PinScript {
    /// The customer types this PIN.
    Pin(String),
    /// The customer bypasses PIN.
    Bypass,
    /// The customer cancels.
    Cancel,
    /// Nobody types.
    Timeout,
}

/// A PIN pad that holds its keys in memory (zeroized on drop) and plays back PIN entries.
pub struct SimPinPad {
    master: DesKey,
    pin_key: Option<DesKey>,
    mac_key: Option<DesKey>,
    script: VecDeque<PinScript>,
}

impl std::fmt::Debug for SimPinPad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimPinPad")
            .field("keys_loaded", &self.pin_key.is_some())
            .finish()
    }
}

impl SimPinPad {
    /// A PIN pad with this terminal master key already injected.
    pub fn new(master: DesKey, script: impl IntoIterator<Item = PinScript>) -> Self {
        SimPinPad {
            master,
            pin_key: None,
            mac_key: None,
            script: script.into_iter().collect(),
        }
    }
    /// Appends to the script.
    pub fn push(&mut self, s: PinScript) {
        self.script.push_back(s);
    }
}

impl PinPad for SimPinPad {
    fn load_working_keys(&mut self, keys: &EncryptedWorkingKeys) -> Result<(), HalError> {
        let unwrap = |enc: &[u8], kcv: &[u8; 4]| {
            self.master.unwrap_key(enc, kcv).map_err(|e| match e {
                crate::crypto::KeyError::CheckValueMismatch => HalError::KeyCheckFailed,
                other => HalError::Device(other.to_string()),
            })
        };
        let pin = unwrap(&keys.pin_key, &keys.pin_kcv)?;
        let mac = unwrap(&keys.mac_key, &keys.mac_kcv)?;
        let mac = match keys.mac_key_use {
            MacKeyUse::Full => mac,
            MacKeyUse::FirstHalf => mac.first_half(),
        };
        self.pin_key = Some(pin);
        self.mac_key = Some(mac);
        Ok(())
    }

    fn online_pin(
        &mut self,
        pan: &Pan,
        _amount: &Money,
        _timeout: Duration,
    ) -> Result<PinEntry, HalError> {
        let key = self.pin_key.as_ref().ok_or(HalError::NoKeys)?;
        match self.script.pop_front() {
            Some(PinScript::Pin(pin)) => {
                let clear = iso9564_format0(&pin, pan.expose_digits())
                    .map_err(|e| HalError::Device(e.to_string()))?;
                Ok(PinEntry::Block(EncryptedPinBlock(key.encrypt_block(clear))))
            }
            Some(PinScript::Bypass) => Ok(PinEntry::Bypassed),
            Some(PinScript::Cancel) => Err(HalError::Cancelled),
            Some(PinScript::Timeout) | None => Err(HalError::Timeout),
        }
    }

    fn mac(&mut self, data: &[u8]) -> Result<[u8; 8], HalError> {
        let key = self.mac_key.as_ref().ok_or(HalError::NoKeys)?;
        Ok(cup_ecb_mac(key, data))
    }
}

/// A printer that keeps what it printed, and can be made to run out of paper.
#[derive(Debug, Default)]
pub struct SimPrinter {
    /// Everything printed, line by line.
    pub printed: Vec<String>,
    /// When set, the next print fails with `OutOfPaper`.
    pub out_of_paper: bool,
}

impl Printer for SimPrinter {
    fn print_lines(&mut self, lines: &[String]) -> Result<(), HalError> {
        if self.out_of_paper {
            return Err(HalError::OutOfPaper);
        }
        self.printed.extend(lines.iter().cloned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn keys(master: &DesKey, pin: &DesKey, mac: &DesKey) -> EncryptedWorkingKeys {
        let (pin_key, pin_kcv) = master.wrap_key(pin);
        let (mac_key, mac_kcv) = master.wrap_key(mac);
        EncryptedWorkingKeys {
            pin_key,
            pin_kcv,
            mac_key,
            mac_kcv,
            mac_key_use: MacKeyUse::Full,
        }
    }

    #[test]
    fn pin_block_decrypts_to_format0_under_pin_key() {
        let master = DesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let pin = DesKey::from_hex("11223344556677888877665544332211").unwrap();
        let mac = DesKey::from_hex("A1A2A3A4A5A6A7A8").unwrap();
        let mut pad = SimPinPad::new(master.clone(), [PinScript::Pin("123456".into())]);
        let pan = Pan::new("1234567890123456").unwrap();
        let amt = Money::from_minor(1, Currency::CNY).unwrap();
        assert_eq!(
            pad.online_pin(&pan, &amt, Duration::from_secs(1)),
            Err(HalError::NoKeys)
        );
        pad.load_working_keys(&keys(&master, &pin, &mac)).unwrap();
        pad.push(PinScript::Pin("123456".into()));
        let PinEntry::Block(b) = pad.online_pin(&pan, &amt, Duration::from_secs(1)).unwrap() else {
            panic!("expected a block")
        };
        assert_eq!(
            hex::encode_upper(pin.decrypt_block(b.0)),
            "0612713176FEDCBA"
        );
    }

    #[test]
    fn wrong_check_value_is_refused_and_old_keys_stay() {
        let master = DesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let pin = DesKey::from_hex("11223344556677888877665544332211").unwrap();
        let mac = DesKey::from_hex("A1A2A3A4A5A6A7A8").unwrap();
        let mut pad = SimPinPad::new(master.clone(), []);
        pad.load_working_keys(&keys(&master, &pin, &mac)).unwrap();
        let before = pad.mac(b"abc").unwrap();
        let mut bad = keys(
            &master,
            &pin,
            &DesKey::from_hex("B1A2A3A4A5A6A7A8").unwrap(),
        );
        bad.mac_kcv[3] ^= 0xFF;
        assert_eq!(pad.load_working_keys(&bad), Err(HalError::KeyCheckFailed));
        assert_eq!(pad.mac(b"abc").unwrap(), before);
    }
}
