//! The small part of the DNS wire format (RFC 1035) the embedded resolver needs: read one
//! question from a query, write an answer of A records. Anything else is forwarded verbatim.

use std::net::IpAddr;

pub(crate) const TYPE_A: u16 = 1;
pub(crate) const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;
const HEADER_LEN: usize = 12;
const MAX_NAME_LEN: usize = 255;
/// Seconds a resolver may cache a container's address (Docker answers with 600).
const ANSWER_TTL: u32 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rcode {
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
}

/// One standard query with its single question.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Query<'a> {
    pub(crate) id: u16,
    pub(crate) recursion_desired: bool,
    /// Lowercased, without the trailing dot.
    pub(crate) name: String,
    pub(crate) qtype: u16,
    pub(crate) qclass: u16,
    /// The question section as received, echoed back in answers.
    question: &'a [u8],
}

impl Query<'_> {
    pub(crate) fn is_internet(&self) -> bool {
        self.qclass == CLASS_IN
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Too short to even carry an id: drop it.
    NoHeader,
    /// Has an id, but is not a query we understand: answer FORMERR (or NOTIMP-like).
    Malformed { id: u16 },
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// Parses a standard query (QR=0, OPCODE=0) with exactly one uncompressed question.
pub(crate) fn parse_query(packet: &[u8]) -> Result<Query<'_>, ParseError> {
    let id = u16_at(packet, 0).ok_or(ParseError::NoHeader)?;
    let malformed = ParseError::Malformed { id };
    if packet.len() < HEADER_LEN {
        return Err(malformed);
    }
    let flags = u16_at(packet, 2).ok_or(ParseError::Malformed { id })?;
    let is_response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xF;
    if is_response || opcode != 0 || u16_at(packet, 4) != Some(1) {
        return Err(malformed);
    }
    let mut at = HEADER_LEN;
    let mut labels: Vec<String> = Vec::new();
    loop {
        let len = usize::from(*packet.get(at).ok_or(ParseError::Malformed { id })?);
        at += 1;
        if len == 0 {
            break;
        }
        // Compression pointers and extended label types never appear in a sane question.
        if len & 0xC0 != 0 || at + len > packet.len() || at - HEADER_LEN + len > MAX_NAME_LEN {
            return Err(ParseError::Malformed { id });
        }
        labels.push(String::from_utf8_lossy(&packet[at..at + len]).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16_at(packet, at).ok_or(ParseError::Malformed { id })?;
    let qclass = u16_at(packet, at + 2).ok_or(ParseError::Malformed { id })?;
    Ok(Query {
        id,
        recursion_desired: flags & 0x0100 != 0,
        name: labels.join("."),
        qtype,
        qclass,
        question: &packet[HEADER_LEN..at + 4],
    })
}

/// Largest UDP reply without EDNS (RFC 1035 §4.2.1).
pub(crate) const UDP_MAX: usize = 512;
const A_RECORD_LEN: usize = 16;

/// An authoritative answer to `query` with `addresses` as A or AAAA records (by family;
/// none for NODATA). If not all records fit in `max_len`, as many as fit are sent with the
/// TC bit set, telling the client to retry over TCP.
pub(crate) fn answer(
    query: &Query<'_>,
    rcode: Rcode,
    addresses: &[IpAddr],
    max_len: usize,
) -> Vec<u8> {
    let record_len = |a: &IpAddr| A_RECORD_LEN + if a.is_ipv6() { 12 } else { 0 };
    let mut room = max_len.saturating_sub(HEADER_LEN + query.question.len());
    let mut fitting = 0;
    for address in addresses.iter().take(usize::from(u16::MAX)) {
        let Some(left) = room.checked_sub(record_len(address)) else {
            break;
        };
        room = left;
        fitting += 1;
    }
    let truncated = fitting < addresses.len();
    let mut out = Vec::with_capacity(HEADER_LEN + query.question.len() + 28 * fitting);
    write_header(&mut out, query.id, query.recursion_desired, rcode, true);
    if truncated {
        out[2] |= 0x02; // TC
    }
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&u16::try_from(fitting).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // no authority or additional records
    out.extend_from_slice(query.question);
    for address in &addresses[..fitting] {
        out.extend_from_slice(&[0xC0, 0x0C]); // name: pointer to the question's name
        let (kind, data) = match address {
            IpAddr::V4(v4) => (TYPE_A, v4.octets().to_vec()),
            IpAddr::V6(v6) => (TYPE_AAAA, v6.octets().to_vec()),
        };
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ANSWER_TTL.to_be_bytes());
        out.extend_from_slice(&u16::try_from(data.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&data);
    }
    out
}

/// A header-only error reply (used for malformed queries and failed forwarding).
pub(crate) fn error_reply(id: u16, rcode: Rcode) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    write_header(&mut out, id, false, rcode, false);
    out.extend_from_slice(&[0; 8]);
    out
}

fn write_header(out: &mut Vec<u8>, id: u16, rd: bool, rcode: Rcode, authoritative: bool) {
    let mut flags: u16 = 0x8000 | 0x0080 | rcode as u16; // QR, RA
    if rd {
        flags |= 0x0100;
    }
    if authoritative {
        flags |= 0x0400;
    }
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn query_bytes(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        q
    }

    #[test]
    fn parses_a_question_and_answers_it() {
        let bytes = query_bytes("Web.Example", TYPE_A);
        let query = parse_query(&bytes).unwrap();
        assert_eq!(query.id, 0x1234);
        assert_eq!(query.name, "web.example");
        assert!(query.recursion_desired && query.is_internet());
        let reply = answer(
            &query,
            Rcode::NoError,
            &[Ipv4Addr::new(172, 30, 0, 2).into()],
            UDP_MAX,
        );
        assert_eq!(&reply[0..2], &[0x12, 0x34]);
        assert_eq!(u16_at(&reply, 6), Some(1));
        assert_eq!(&reply[reply.len() - 4..], &[172, 30, 0, 2]);
        let v6: std::net::Ipv6Addr = "fd00:6::2".parse().unwrap();
        let bytes = query_bytes("web", TYPE_AAAA);
        let query = parse_query(&bytes).unwrap();
        let reply = answer(&query, Rcode::NoError, &[v6.into()], UDP_MAX);
        assert_eq!(&reply[reply.len() - 16..], &v6.octets());
        assert_eq!(u16_at(&reply, reply.len() - 26), Some(TYPE_AAAA));
    }

    #[test]
    fn too_many_records_for_udp_set_the_truncation_bit() {
        let bytes = query_bytes("many", TYPE_A);
        let query = parse_query(&bytes).unwrap();
        let addresses: Vec<IpAddr> = (0..100u32)
            .map(|i| Ipv4Addr::from(0xAC1E_0000 + i).into())
            .collect();
        let udp = answer(&query, Rcode::NoError, &addresses, UDP_MAX);
        assert!(udp.len() <= UDP_MAX);
        assert_eq!(udp[2] & 0x02, 0x02);
        let tcp = answer(&query, Rcode::NoError, &addresses, usize::from(u16::MAX));
        assert_eq!(tcp[2] & 0x02, 0);
        assert_eq!(u16_at(&tcp, 6), Some(100));
    }

    #[test]
    fn malformed_queries_are_rejected_without_panicking() {
        assert_eq!(parse_query(&[1]), Err(ParseError::NoHeader));
        let mut bytes = query_bytes("web", TYPE_A);
        bytes[12] = 0xC0; // compression pointer in the question
        assert_eq!(
            parse_query(&bytes),
            Err(ParseError::Malformed { id: 0x1234 })
        );
        let bytes = query_bytes("web", TYPE_A);
        for cut in 0..bytes.len() {
            let _ = parse_query(&bytes[..cut]);
        }
        assert!(parse_query(&bytes[..bytes.len() - 1]).is_err());
        let mut response = query_bytes("web", TYPE_A);
        response[2] |= 0x80;
        assert!(parse_query(&response).is_err());
        assert_eq!(error_reply(7, Rcode::FormErr)[3] & 0xF, 1);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            if let Ok(query) = parse_query(&bytes) {
                let _ = answer(&query, Rcode::NoError, &[Ipv4Addr::LOCALHOST.into()], UDP_MAX);
            }
        }
    }
}
