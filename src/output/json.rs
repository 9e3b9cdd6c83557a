//! iproute2's JSON shapes for netns (spec 4.1, 4.3): an array of flat
//! objects, compact (`[{"name":"a","id":5}]`) or pretty (`-j -p`, 4-space
//! indent, `[ {` ... `},{` ... `} ]`). Strings escape what 6.1 escapes plus,
//! per divergence D5, every other control byte as `\u00XX`, so the output
//! is always valid JSON. Bytes >= 0x80 are written raw, as 6.1 does.

/// A scalar value in an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Str(&'a [u8]),
    Int(i64),
}

/// Renders `objects` (each a list of key/value pairs) as iproute2 does.
pub fn array(objects: &[Vec<(&str, Value<'_>)>], pretty: bool) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(b'[');
    if pretty {
        out.push(b' ');
    }
    for (i, obj) in objects.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        for (j, (k, v)) in obj.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            if pretty {
                out.extend_from_slice(b"\n        ");
            }
            string(&mut out, k.as_bytes());
            out.push(b':');
            if pretty {
                out.push(b' ');
            }
            match v {
                Value::Str(s) => string(&mut out, s),
                Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
            }
        }
        if pretty {
            out.extend_from_slice(b"\n    ");
        }
        out.push(b'}');
    }
    if pretty && !objects.is_empty() {
        out.push(b' ');
    }
    out.extend_from_slice(b"]\n");
    out
}

/// A JSON string with iproute2's escapes (D5: all control bytes escaped).
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x08 => out.extend_from_slice(b"\\b"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Vec<Vec<(&'static str, Value<'static>)>> {
        vec![
            vec![("name", Value::Str(b"bar"))],
            vec![("name", Value::Str(b"foo")), ("id", Value::Int(5))],
        ]
    }

    #[test]
    fn compact_shape() {
        assert_eq!(
            array(&list(), false),
            b"[{\"name\":\"bar\"},{\"name\":\"foo\",\"id\":5}]\n"
        );
        assert_eq!(array(&[], false), b"[]\n");
    }

    #[test]
    fn pretty_shape() {
        let want = "[ {\n        \"name\": \"bar\"\n    },{\n        \"name\": \"foo\",\n        \"id\": 5\n    } ]\n";
        assert_eq!(String::from_utf8(array(&list(), true)).unwrap(), want);
        assert_eq!(array(&[], true), b"[ ]\n");
    }

    #[test]
    fn escapes_keep_json_valid() {
        let mut o = Vec::new();
        string(&mut o, b"a\"b\\c\t\n\x01\x7f\xc3\xa9");
        assert_eq!(o, b"\"a\\\"b\\\\c\\t\\n\\u0001\\u007f\xc3\xa9\"");
    }
}
