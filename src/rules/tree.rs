//! The built-in rules' documents as static trees (`Node`, written out by the build script from
//! each `rule.yaml`), and serde's reading of them: start-up reads a built-in rule from the
//! binary's own data instead of scanning a text for it.

use serde::de::value::{BorrowedStrDeserializer, Error, MapDeserializer, SeqDeserializer};
use serde::de::{Deserializer, IntoDeserializer, Visitor};

/// One value of a rule document: what YAML can say, as the build script writes it in Rust.
#[derive(Debug)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'static str),
    Seq(&'static [Node]),
    Map(&'static [(&'static str, Node)]),
}

impl Deserializer<'static> for &'static Node {
    type Error = Error;

    fn deserialize_any<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(*b),
            Node::Int(i) => visitor.visit_i64(*i),
            Node::Float(f) => visitor.visit_f64(*f),
            Node::Str(s) => visitor.visit_borrowed_str(s),
            Node::Seq(items) => visitor.visit_seq(SeqDeserializer::new(items.iter())),
            // Keys borrowed too: a map's keys can be texts a rule keeps (`facts:`).
            Node::Map(entries) => visitor.visit_map(MapDeserializer::new(
                entries
                    .iter()
                    .map(|(k, v)| (BorrowedStrDeserializer::new(k), v)),
            )),
        }
    }

    /// A key written with no value (`phase:`) is none, as in YAML and JSON.
    fn deserialize_option<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// The enums of rule files are plain words (`phase: auth`).
    fn deserialize_enum<V: Visitor<'static>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            Node::Str(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'static>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl IntoDeserializer<'static, Error> for &'static Node {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}
