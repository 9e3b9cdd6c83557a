//! Parsing only the fields rnetns uses from state files a user writes
//! (README "Bounded reads"): a whole `serde_json::Value` of a 16 MiB
//! `[0,0,0,…]` is ~265 MB, while skipping what is not used
//! (`serde::de::IgnoredAny`) allocates nothing. A field of the wrong type
//! reads as absent, as `Value::as_str` would have it, and the document is
//! dropped as soon as its fields are out.

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Scalars and containers a lenient visitor meets where it wanted
/// something else: read past, giving `$none`.
macro_rules! otherwise {
    ($none:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
}

/// Whether `bytes` nest arrays and objects deeper than serde_json's
/// recursion limit (128), which a whole parse calls malformed. Checked
/// after a parse succeeds, because what is not used is skipped with
/// `IgnoredAny`, which serde_json skips fast and with no depth limit.
fn too_deep(bytes: &[u8]) -> bool {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for &b in bytes {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > 128 {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A value kept only if it is a string.
struct Str(Option<String>);

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            otherwise!(Str(None));
            fn visit_str<E>(self, v: &str) -> Result<Str, E> {
                Ok(Str(Some(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Str, A::Error> {
                drain_seq(seq).map(|()| Str(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Str, A::Error> {
                drain_map(map).map(|()| Str(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// The first element of an array, if it is a string.
struct First(Option<String>);

impl<'de> Deserialize<'de> for First {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = First;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            otherwise!(First(None));
            fn visit_str<E>(self, _: &str) -> Result<First, E> {
                Ok(First(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First, A::Error> {
                let first = seq.next_element::<Str>()?.and_then(|s| s.0);
                drain_seq(seq).map(|()| First(first))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<First, A::Error> {
                drain_map(map).map(|()| First(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A map visitor that keeps some keys (`each` reads them) and skips the
/// rest; any other value reads as `T::default()`.
struct Fields<T, F>(F, std::marker::PhantomData<T>);

impl<'de, T: Default, F> Visitor<'de> for Fields<T, F>
where
    F: FnMut(&mut T, &str, &mut dyn FnMut() -> Option<Option<String>>),
{
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    otherwise!(T::default());
    fn visit_str<E>(self, _: &str) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        drain_seq(seq).map(|()| T::default())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<T, A::Error> {
        let mut out = T::default();
        while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let mut err = None;
            let mut taken = false;
            (self.0)(&mut out, &k, &mut || {
                taken = true;
                match map.next_value::<Str>() {
                    Ok(s) => Some(s.0),
                    Err(e) => {
                        err = Some(e);
                        None
                    }
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            if !taken {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// The fields of an OCI runtime spec rnetns uses.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The kept annotations, in the order met.
    pub annotations: Vec<(String, String)>,
    pub cgroups_path: Option<String>,
    /// `linux.namespaces[type=network].path`, when not empty.
    pub netns_path: Option<String>,
}

/// Annotations [`spec`] keeps.
const KEEP: [&str; 7] = [
    "io.container.manager",
    "io.kubernetes.cri-o.SandboxID",
    "io.kubernetes.cri.sandbox-id",
    "io.kubernetes.cri.container-name",
    "io.kubernetes.cri.sandbox-name",
    "io.kubernetes.pod.name",
    "io.kubernetes.pod.namespace",
];

struct Annotations(Vec<(String, String)>);
struct Linux(Option<String>, Option<String>);
struct NetPath(Option<String>);

impl<'de> Deserialize<'de> for Annotations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Fields(
            |out: &mut Vec<(String, String)>,
             k: &str,
             val: &mut dyn FnMut() -> Option<Option<String>>| {
                if KEEP.contains(&k) {
                    if let Some(Some(v)) = val() {
                        out.push((k.to_string(), v));
                    }
                }
            },
            Default::default(),
        );
        d.deserialize_any(v).map(Annotations)
    }
}

impl<'de> Deserialize<'de> for NetPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NetPath;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            otherwise!(NetPath(None));
            fn visit_str<E>(self, _: &str) -> Result<NetPath, E> {
                Ok(NetPath(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NetPath, A::Error> {
                drain_map(map).map(|()| NetPath(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NetPath, A::Error> {
                let mut found = None;
                while let Some(ns) = seq.next_element::<NsEntry>()? {
                    if found.is_none() && ns.0.as_deref() == Some("network") {
                        found = Some(ns.1.filter(|p| !p.is_empty()));
                    }
                }
                Ok(NetPath(found.flatten()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Default)]
struct NsEntry(Option<String>, Option<String>);

impl<'de> Deserialize<'de> for NsEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Fields(
            |out: &mut NsEntry, k: &str, val: &mut dyn FnMut() -> Option<Option<String>>| match k {
                "type" => out.0 = val().flatten(),
                "path" => out.1 = val().flatten(),
                _ => {}
            },
            Default::default(),
        );
        d.deserialize_any(v)
    }
}

impl<'de> Deserialize<'de> for Linux {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Linux;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            otherwise!(Linux(None, None));
            fn visit_str<E>(self, _: &str) -> Result<Linux, E> {
                Ok(Linux(None, None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Linux, A::Error> {
                drain_seq(seq).map(|()| Linux(None, None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Linux, A::Error> {
                let mut out = Linux(None, None);
                while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*k {
                        "cgroupsPath" => out.0 = map.next_value::<Str>()?.0,
                        "namespaces" => out.1 = map.next_value::<NetPath>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Spec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Spec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Spec, A::Error> {
                let mut out = Spec::default();
                while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*k {
                        "annotations" => out.annotations = map.next_value::<Annotations>()?.0,
                        "linux" => {
                            let l = map.next_value::<Linux>()?;
                            out.cgroups_path = l.0;
                            out.netns_path = l.1;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

impl Spec {
    /// The spec as the small JSON value the readers take (what
    /// [`super::state::oci_netns_path`], `annotation` and `str_at` look at).
    pub fn to_value(&self) -> serde_json::Value {
        let mut ann = serde_json::Map::new();
        for (k, v) in &self.annotations {
            ann.insert(k.clone(), v.clone().into());
        }
        let mut linux = serde_json::Map::new();
        if let Some(c) = &self.cgroups_path {
            linux.insert("cgroupsPath".into(), c.clone().into());
        }
        if let Some(p) = &self.netns_path {
            let ns = serde_json::json!([{ "type": "network", "path": p }]);
            linux.insert("namespaces".into(), ns);
        }
        serde_json::json!({ "annotations": ann, "linux": linux })
    }
}

/// An OCI spec's used fields, as a small JSON value; `None` if not JSON.
pub fn spec(bytes: &[u8]) -> Option<serde_json::Value> {
    let spec = serde_json::from_slice::<Spec>(bytes).ok()?;
    (!too_deep(bytes)).then(|| spec.to_value())
}

/// id -> first name pairs of containers/storage's `containers.json`
/// (`[{"id": …, "names": [NAME, …]}, …]`); `None` if not JSON.
pub fn names(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    struct Names(Vec<(String, String)>);
    impl<'de> Deserialize<'de> for Names {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Names;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("any JSON value")
                }
                otherwise!(Names(Vec::new()));
                fn visit_str<E>(self, _: &str) -> Result<Names, E> {
                    Ok(Names(Vec::new()))
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Names, A::Error> {
                    drain_map(map).map(|()| Names(Vec::new()))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                    let mut out = Vec::new();
                    while let Some(e) = seq.next_element::<Entry>()? {
                        if let (Some(id), Some(name)) = (e.0, e.1) {
                            out.push((id, name));
                        }
                    }
                    Ok(Names(out))
                }
            }
            d.deserialize_any(V)
        }
    }
    struct Entry(Option<String>, Option<String>);
    impl<'de> Deserialize<'de> for Entry {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Entry;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("any JSON value")
                }
                otherwise!(Entry(None, None));
                fn visit_str<E>(self, _: &str) -> Result<Entry, E> {
                    Ok(Entry(None, None))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Entry, A::Error> {
                    drain_seq(seq).map(|()| Entry(None, None))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
                    let mut out = Entry(None, None);
                    while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                        match &*k {
                            "id" => out.0 = map.next_value::<Str>()?.0,
                            "names" => out.1 = map.next_value::<First>()?.0,
                            _ => {
                                map.next_value::<IgnoredAny>()?;
                            }
                        }
                    }
                    Ok(out)
                }
            }
            d.deserialize_any(V)
        }
    }
    let names = serde_json::from_slice::<Names>(bytes).ok()?;
    (!too_deep(bytes)).then_some(names.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_keeps_the_used_fields_like_a_whole_parse() {
        let text = br#"{"ociVersion":"1","process":{"args":[1,2]},
            "annotations":{"io.container.manager":"libpod","x":[0,0],"io.kubernetes.cri-o.SandboxID":5},
            "linux":{"cgroupsPath":"a","namespaces":[{"type":"pid"},7,{"type":"network","path":"/run/netns/x"}]}}"#;
        let slim = spec(text).unwrap();
        let whole: serde_json::Value = serde_json::from_slice(text).unwrap();
        use crate::runtimes::state::{annotation, oci_netns_path, str_at};
        assert_eq!(oci_netns_path(&slim), oci_netns_path(&whole));
        assert_eq!(annotation(&slim, "io.container.manager"), Some("libpod"));
        assert_eq!(annotation(&slim, "io.kubernetes.cri-o.SandboxID"), None);
        assert_eq!(str_at(&slim, "/linux/cgroupsPath"), Some("a"));
        assert!(spec(b"[1]").is_none() && spec(b"{").is_none());
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(spec(deep.as_bytes()).is_none());
        let shallow = format!("{{\"x\":{}\"[[[\"{}}}", "[".repeat(100), "]".repeat(100));
        assert!(spec(shallow.as_bytes()).is_some());
    }

    #[test]
    fn names_skip_what_is_not_a_named_container() {
        let text = br#"[0,{"id":"a","names":["n","m"]},{"id":"b"},{"id":"c","names":[1]},"x"]"#;
        assert_eq!(names(text).unwrap(), [("a".into(), "n".into())]);
        assert_eq!(names(b"{}").unwrap(), []);
    }
}
