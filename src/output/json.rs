//! iproute2's JSON shapes for netns (spec 4.1, 4.3): an array of flat
//! objects, compact (`[{"name":"a","id":5}]`) or pretty (`-j -p`, 4-space
//! indent, `[ {` ... `},{` ... `} ]`). Strings escape what 6.1 escapes plus,
//! per divergence D5, every other control byte as `\u00XX`, so the output
//! is always valid JSON. Bytes >= 0x80 are written raw, as 6.1 does.
//! [`render`] writes nested values (arrays, objects, bools) in the same
//! layout, for rnetns's own `list --all-runtimes`.

/// A JSON value of any shape, for output that nests (`list --all-runtimes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Str(Vec<u8>),
    Int(i64),
    Bool(bool),
    Array(Vec<Node>),
    Object(Vec<(&'static str, Node)>),
}

/// Renders `node` followed by a newline, laid out as iproute2's json
/// writer does: in pretty mode each object member starts a new line
/// indented 4 spaces per nesting level, arrays open with `[ ` and close
/// with ` ]` (an empty one is `[ ]`), and elements are joined by a bare
/// `,` (`[ "a","b" ]`, `},{`), as `ip -j -p addr show` prints.
pub fn render(node: &Node, pretty: bool) -> Vec<u8> {
    let mut w = Writer {
        out: Vec::new(),
        pretty,
        depth: 0,
    };
    w.node(node);
    w.out.push(b'\n');
    w.out
}

struct Writer {
    out: Vec<u8>,
    pretty: bool,
    depth: usize,
}

impl Writer {
    fn newline(&mut self) {
        if self.pretty {
            self.out.push(b'\n');
            self.out.resize(self.out.len() + 4 * self.depth, b' ');
        }
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::Str(s) => string(&mut self.out, s),
            Node::Int(n) => self.out.extend_from_slice(n.to_string().as_bytes()),
            Node::Bool(b) => self
                .out
                .extend_from_slice(if *b { b"true" } else { b"false" }),
            Node::Array(items) => {
                self.out.push(b'[');
                if self.pretty {
                    self.out.push(b' ');
                }
                self.depth += 1;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.node(item);
                }
                self.depth -= 1;
                if self.pretty && !items.is_empty() {
                    self.out.push(b' ');
                }
                self.out.push(b']');
            }
            Node::Object(members) => {
                self.out.push(b'{');
                self.depth += 1;
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.newline();
                    string(&mut self.out, k.as_bytes());
                    self.out.push(b':');
                    if self.pretty {
                        self.out.push(b' ');
                    }
                    self.node(v);
                }
                self.depth -= 1;
                if !members.is_empty() {
                    self.newline();
                }
                self.out.push(b'}');
            }
        }
    }
}

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

    fn as_nodes(objects: &[Vec<(&'static str, Value<'static>)>]) -> Node {
        Node::Array(
            objects
                .iter()
                .map(|o| {
                    Node::Object(
                        o.iter()
                            .map(|(k, v)| {
                                let n = match v {
                                    Value::Str(s) => Node::Str(s.to_vec()),
                                    Value::Int(i) => Node::Int(*i),
                                };
                                (*k, n)
                            })
                            .collect(),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn render_matches_the_flat_array_writer() {
        for pretty in [false, true] {
            assert_eq!(render(&as_nodes(&list()), pretty), array(&list(), pretty));
            assert_eq!(render(&as_nodes(&[]), pretty), array(&[], pretty));
        }
    }

    fn nested() -> Node {
        Node::Array(vec![Node::Object(vec![
            ("ifname", Node::Str(b"lo".to_vec())),
            (
                "flags",
                Node::Array(vec![
                    Node::Str(b"UP".to_vec()),
                    Node::Str(b"LOWER_UP".to_vec()),
                ]),
            ),
            ("none", Node::Array(vec![])),
            (
                "linkinfo",
                Node::Object(vec![("info_kind", Node::Str(b"veth".to_vec()))]),
            ),
            (
                "addr_info",
                Node::Array(vec![
                    Node::Object(vec![("prefixlen", Node::Int(8))]),
                    Node::Object(vec![("up", Node::Bool(true))]),
                ]),
            ),
            ("stale", Node::Bool(false)),
        ])])
    }

    #[test]
    fn nested_pretty_follows_ip_addr_show() {
        // Measured with `ip -j -p addr show lo` and `ip -j -p -d link show
        // <veth>` (iproute2 6.1): arrays of scalars inline, nested objects
        // one level deeper, `},{` between array elements.
        let want = "[ {\n        \"ifname\": \"lo\",\n        \"flags\": [ \"UP\",\"LOWER_UP\" ],\n        \"none\": [ ],\n        \"linkinfo\": {\n            \"info_kind\": \"veth\"\n        },\n        \"addr_info\": [ {\n                \"prefixlen\": 8\n            },{\n                \"up\": true\n            } ],\n        \"stale\": false\n    } ]\n";
        assert_eq!(String::from_utf8(render(&nested(), true)).unwrap(), want);
    }

    #[test]
    fn nested_compact() {
        let want = "[{\"ifname\":\"lo\",\"flags\":[\"UP\",\"LOWER_UP\"],\"none\":[],\"linkinfo\":{\"info_kind\":\"veth\"},\"addr_info\":[{\"prefixlen\":8},{\"up\":true}],\"stale\":false}]\n";
        assert_eq!(String::from_utf8(render(&nested(), false)).unwrap(), want);
    }

    #[test]
    fn escapes_keep_json_valid() {
        let mut o = Vec::new();
        string(&mut o, b"a\"b\\c\t\n\x01\x7f\xc3\xa9");
        assert_eq!(o, b"\"a\\\"b\\\\c\\t\\n\\u0001\\u007f\xc3\xa9\"");
    }
}
