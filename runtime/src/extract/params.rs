//! A serde deserializer over path parameters: names from the route, values
//! from the request path. Values are strings; numbers, booleans and chars are
//! parsed from them on demand, as `Path<(u32, String)>` needs.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

/// Why a value did not deserialize.
#[derive(Debug)]
pub(crate) struct ParamError(String);

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamError {}

impl de::Error for ParamError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ParamError(msg.to_string())
    }
}

/// All the params of a route.
pub(crate) struct Params<'a> {
    pub(crate) names: &'a [&'static str],
    pub(crate) values: &'a [Box<str>],
}

impl<'a> Params<'a> {
    fn single(&self) -> Result<Value<'a>, ParamError> {
        match self.values {
            [one] => Ok(Value(one)),
            _ => Err(ParamError(format!("expected one path parameter, found {}", self.values.len()))),
        }
    }
}

macro_rules! single_value {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            self.single()?.$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Params<'de> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_map(Entries { names: self.names.iter(), values: self.values.iter(), value: None })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_seq(Values(self.values.iter()))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, ParamError> {
        if len != self.values.len() {
            return Err(ParamError(format!("expected {len} path parameters, found {}", self.values.len())));
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.single()?.deserialize_enum(name, variants, visitor)
    }

    single_value! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_option deserialize_unit deserialize_identifier
        deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }
}

struct Entries<'a> {
    names: std::slice::Iter<'a, &'static str>,
    values: std::slice::Iter<'a, Box<str>>,
    value: Option<&'a str>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = ParamError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, ParamError> {
        match (self.names.next(), self.values.next()) {
            (Some(name), Some(value)) => {
                self.value = Some(value);
                seed.deserialize(name.into_deserializer()).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, ParamError> {
        let value = self.value.take().ok_or_else(|| ParamError("value without a key".into()))?;
        seed.deserialize(Value(value))
    }
}

struct Values<'a>(std::slice::Iter<'a, Box<str>>);

impl<'de> SeqAccess<'de> for Values<'de> {
    type Error = ParamError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, ParamError> {
        match self.0.next() {
            Some(v) => seed.deserialize(Value(v)).map(Some),
            None => Ok(None),
        }
    }
}

/// One param value.
struct Value<'a>(&'a str);

macro_rules! parse_value {
    ($($method:ident => $visit:ident,)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            match self.0.parse() {
                Ok(v) => visitor.$visit(v),
                Err(e) => Err(ParamError(format!("cannot parse `{}`: {e}", self.0))),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Value<'de> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_borrowed_str(self.0)
    }

    parse_value! {
        deserialize_bool => visit_bool,
        deserialize_i8 => visit_i8, deserialize_i16 => visit_i16, deserialize_i32 => visit_i32,
        deserialize_i64 => visit_i64, deserialize_i128 => visit_i128,
        deserialize_u8 => visit_u8, deserialize_u16 => visit_u16, deserialize_u32 => visit_u32,
        deserialize_u64 => visit_u64, deserialize_u128 => visit_u128,
        deserialize_f32 => visit_f32, deserialize_f64 => visit_f64, deserialize_char => visit_char,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        de::value::BorrowedStrDeserializer::<ParamError>::new(self.0).deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The shape serde says `T` has, found without any data.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A struct with these field names.
    Struct(&'static [&'static str]),
    /// A tuple or tuple struct of this many values.
    Positional(usize),
    /// A sequence (`Vec<T>`): any number of values.
    Sequence,
    /// A single value.
    Single,
    /// Something else (a map): not checked.
    Other,
}

/// Asks `T::deserialize` which shape it wants, without any data.
pub(crate) fn probe<T: de::DeserializeOwned>() -> Shape {
    let mut shape = Shape::Other;
    let _ = T::deserialize(Probe(&mut shape));
    shape
}

struct Probe<'s>(&'s mut Shape);

macro_rules! probe_single {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ParamError> {
            *self.0 = Shape::Single;
            Err(ParamError("probe".into()))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ParamError> {
        Err(ParamError("probe".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ParamError> {
        *self.0 = Shape::Struct(fields);
        Err(ParamError("probe".into()))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ParamError> {
        *self.0 = Shape::Sequence;
        Err(ParamError("probe".into()))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, _visitor: V) -> Result<V::Value, ParamError> {
        *self.0 = Shape::Positional(len);
        Err(ParamError("probe".into()))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _n: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    probe_single! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_option
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ParamError> {
        *self.0 = Shape::Single;
        Err(ParamError("probe".into()))
    }

    forward_to_deserialize_any! {
        bytes byte_buf unit unit_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Room {
        room: String,
        id: u32,
    }

    fn params<'a>(names: &'a [&'static str], values: &'a [Box<str>]) -> Params<'a> {
        Params { names, values }
    }

    #[test]
    fn deserializes_structs_tuples_and_single_values() {
        let names = ["room", "id"];
        let values: Vec<Box<str>> = vec!["lobby".into(), "7".into()];
        let r = Room::deserialize(params(&names, &values)).ok();
        assert_eq!(r, Some(Room { room: "lobby".into(), id: 7 }));
        let t = <(String, u32)>::deserialize(params(&names, &values)).ok();
        assert_eq!(t, Some(("lobby".into(), 7)));
        let one: Vec<Box<str>> = vec!["42".into()];
        assert_eq!(u64::deserialize(params(&["id"], &one)).ok(), Some(42));
        assert!(u64::deserialize(params(&names, &values)).is_err());
        let bad: Vec<Box<str>> = vec!["x".into(), "y".into()];
        assert!(Room::deserialize(params(&names, &bad)).is_err());
        assert!(<(String, u32, u8)>::deserialize(params(&names, &values)).is_err());
    }

    #[test]
    fn probes_the_shape_of_a_type() {
        assert_eq!(probe::<Room>(), Shape::Struct(&["room", "id"]));
        assert_eq!(probe::<(u32, String)>(), Shape::Positional(2));
        assert_eq!(probe::<Vec<(String, String)>>(), Shape::Sequence);
        assert_eq!(probe::<Option<Room>>(), Shape::Single);
        assert_eq!(probe::<u32>(), Shape::Single);
        assert_eq!(probe::<String>(), Shape::Single);
    }
}
