//! STOPSIGNAL values: a signal name (`SIGTERM`, `TERM`, `SIGRTMIN+3`) or number, as Docker's
//! `signal.ParseSignal` accepts on Linux.

use super::error::InstructionErrorKind;

const NAMES: &[(&str, u8)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
    ("UNUSED", 31),
];

const SIGRTMIN: u8 = 34;
const SIGRTMAX: u8 = 64;

/// The signal number `text` names.
pub fn parse_signal(text: &str) -> Result<u8, InstructionErrorKind> {
    let invalid = || InstructionErrorKind::InvalidSignal {
        signal: text.to_string(),
    };
    if let Ok(number) = text.parse::<u8>() {
        return (1..=SIGRTMAX)
            .contains(&number)
            .then_some(number)
            .ok_or_else(invalid);
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, number)) = NAMES.iter().find(|(n, _)| *n == name) {
        return Ok(*number);
    }
    let realtime = |base: u8, offset: &str, sign: i16| -> Option<u8> {
        let offset: i16 = if offset.is_empty() {
            0
        } else {
            offset.parse().ok()?
        };
        let number = i16::from(base) + sign * offset;
        u8::try_from(number)
            .ok()
            .filter(|n| (SIGRTMIN..=SIGRTMAX).contains(n))
    };
    let number = if let Some(rest) = name.strip_prefix("RTMIN") {
        rest.strip_prefix('+').map_or_else(
            || (rest.is_empty()).then_some(SIGRTMIN),
            |o| realtime(SIGRTMIN, o, 1),
        )
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        rest.strip_prefix('-').map_or_else(
            || (rest.is_empty()).then_some(SIGRTMAX),
            |o| realtime(SIGRTMAX, o, -1),
        )
    } else {
        None
    };
    number.ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::parse_signal;

    #[test]
    fn signal_names_and_numbers() {
        assert_eq!(parse_signal("SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("term").unwrap(), 15);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("SIGRTMIN+3").unwrap(), 37);
        assert_eq!(parse_signal("RTMAX-1").unwrap(), 63);
        for bad in ["", "0", "65", "SIGNOPE", "RTMIN+40", "RTMIN-1", "-9"] {
            assert!(parse_signal(bad).is_err(), "{bad}");
        }
    }
}
