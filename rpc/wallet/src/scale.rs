//! A SCALE <-> JSON codec driven by runtime metadata: given the metadata's type registry
//! (`scale_info::PortableRegistry`) and a type id, [`decode`] turns SCALE bytes into a JSON
//! value and [`encode`] turns a JSON value into SCALE bytes, without any Rust type of the
//! runtime. This is how the wallet builds calls and reads events of any runtime that
//! serves metadata, as polkadot.js or subxt do.
//!
//! JSON shapes: a composite with named fields is an object, with one unnamed field its
//! inner value, with several an array; a variant is `"Name"` (no fields) or
//! `{"Name": fields}`; sequences, arrays and tuples are arrays; `Vec<u8>` and `[u8; N]` are
//! `0x` hex; `AccountId32` (`sp_core::crypto::AccountId32`) is an SS58 address (prefix 42);
//! u64, u128, i64 and i128 (compact or not) are decimal strings, smaller integers numbers.
//! On input, integers may be numbers or decimal strings, a `Vec<u8>` may also be a plain
//! UTF-8 string (one that does not start with `0x`), an account a `0x` hex public key,
//! and a `MultiAddress` a plain address (meaning `Id`).
//!
//! Invariants (the bytes and the JSON may be hostile): nesting deeper than [`MAX_DEPTH`]
//! is refused; a sequence or array length is checked against the bytes left before
//! anything is allocated for it; every failure is a typed [`ScaleError`], never a panic.
//! [`decode`] consumes exactly one value and leaves the rest of the input to the caller,
//! who must check that nothing is left over ([`decode_exact`] does).

use codec::{Compact, Decode, Encode};
use scale_info::form::PortableForm;
use scale_info::{Field, PortableRegistry, Type, TypeDef, TypeDefPrimitive};
use serde_json::{Map, Value};

use arceon_primitives::{from_hex, parse_account, to_hex, to_ss58, AccountId32};

/// The deepest nesting of types [`decode`] and [`encode`] follow (recursive types such as
/// a call that carries a call are bounded by it).
pub const MAX_DEPTH: u32 = 64;

/// Why bytes or a JSON value do not fit a type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    /// The metadata names a type its registry does not have.
    #[error("type #{0} is not in the metadata's registry")]
    UnknownType(u32),
    /// The value nests deeper than [`MAX_DEPTH`].
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The bytes ended before the value did.
    #[error("the bytes end in the middle of {0}")]
    Truncated(String),
    /// A length prefix promises more items than there are bytes left.
    #[error("a length of {len} items does not fit the {remaining} bytes left")]
    LengthTooLong {
        /// The claimed number of items.
        len: u64,
        /// The bytes left in the input.
        remaining: usize,
    },
    /// A variant index the type does not have.
    #[error("{ty} has no variant with index {index}")]
    UnknownVariantIndex {
        /// The enum's name.
        ty: String,
        /// The index read.
        index: u8,
    },
    /// Bytes that are not a valid value of a primitive (a bool byte of 2, bad UTF-8).
    #[error("invalid {what}: {reason}")]
    InvalidBytes {
        /// What was being decoded.
        what: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Bytes were left over after the value.
    #[error("{0} bytes left over after the value")]
    TrailingBytes(usize),
    /// A JSON value of the wrong shape or out of range.
    #[error("{at}: expected {expected}, got {got}")]
    BadValue {
        /// Where in the input (`dest`, `args.value`, ...).
        at: String,
        /// What the type needs.
        expected: String,
        /// What was given.
        got: String,
    },
    /// A JSON object has a field the type does not.
    #[error("{at}: unknown field `{field}` (fields: {expected})")]
    UnknownField {
        /// Where in the input.
        at: String,
        /// The unexpected key.
        field: String,
        /// The type's fields.
        expected: String,
    },
    /// A JSON object lacks a field of the type.
    #[error("{at}: missing field `{field}` (fields: {expected})")]
    MissingField {
        /// Where in the input.
        at: String,
        /// The missing field.
        field: String,
        /// The type's fields.
        expected: String,
    },
    /// A variant name the enum does not have.
    #[error("{at}: unknown variant `{name}` (variants: {expected})")]
    UnknownVariant {
        /// Where in the input.
        at: String,
        /// The name given.
        name: String,
        /// The enum's variants.
        expected: String,
    },
    /// A type the codec does not handle (bit sequences).
    #[error("{0} is not supported")]
    Unsupported(String),
}

/// Decodes one value of type `ty` from the front of `input`, advancing it.
pub fn decode(
    registry: &PortableRegistry,
    ty: u32,
    input: &mut &[u8],
) -> Result<Value, ScaleError> {
    Decoder { registry }.value(ty, input, 0)
}

/// Decodes `bytes` as exactly one value of type `ty`.
pub fn decode_exact(
    registry: &PortableRegistry,
    ty: u32,
    bytes: &[u8],
) -> Result<Value, ScaleError> {
    let mut input = bytes;
    let value = decode(registry, ty, &mut input)?;
    if !input.is_empty() {
        return Err(ScaleError::TrailingBytes(input.len()));
    }
    Ok(value)
}

/// Encodes `value` as type `ty`.
pub fn encode(registry: &PortableRegistry, ty: u32, value: &Value) -> Result<Vec<u8>, ScaleError> {
    let mut out = Vec::new();
    Encoder {
        registry,
        path: Vec::new(),
    }
    .value(ty, value, &mut out, 0)?;
    Ok(out)
}

/// Encodes the fields of a call or variant from a JSON object of named arguments (or an
/// array for unnamed fields), appending to `out`; `at` names the value in errors.
pub fn encode_fields(
    registry: &PortableRegistry,
    fields: &[Field<PortableForm>],
    value: &Value,
    at: &str,
    out: &mut Vec<u8>,
) -> Result<(), ScaleError> {
    let mut encoder = Encoder {
        registry,
        path: vec![at.to_string()],
    };
    encoder.fields(fields, value, out, 0)
}

/// Looks a type up.
pub fn resolve(registry: &PortableRegistry, ty: u32) -> Result<&Type<PortableForm>, ScaleError> {
    registry.resolve(ty).ok_or(ScaleError::UnknownType(ty))
}

/// Whether `ty` is `sp_core::crypto::AccountId32`, shown as SS58.
pub fn is_account_id(ty: &Type<PortableForm>) -> bool {
    path_is(ty, &["sp_core", "crypto", "AccountId32"])
}

/// Whether `ty`'s path is exactly `segments`.
pub fn path_is(ty: &Type<PortableForm>, segments: &[&str]) -> bool {
    ty.path.segments.len() == segments.len()
        && ty.path.segments.iter().zip(segments).all(|(a, b)| a == b)
}

/// The name of a type for messages: its path's last segment or its shape.
pub fn type_name(ty: &Type<PortableForm>) -> String {
    if let Some(last) = ty.path.segments.last() {
        return last.clone();
    }
    match &ty.type_def {
        TypeDef::Composite(_) => "struct".into(),
        TypeDef::Variant(_) => "enum".into(),
        TypeDef::Sequence(_) => "sequence".into(),
        TypeDef::Array(a) => format!("array of {}", a.len),
        TypeDef::Tuple(_) => "tuple".into(),
        TypeDef::Primitive(p) => primitive_name(p).into(),
        TypeDef::Compact(_) => "compact integer".into(),
        TypeDef::BitSequence(_) => "bit sequence".into(),
    }
}

fn primitive_name(p: &TypeDefPrimitive) -> &'static str {
    match p {
        TypeDefPrimitive::Bool => "bool",
        TypeDefPrimitive::Char => "char",
        TypeDefPrimitive::Str => "string",
        TypeDefPrimitive::U8 => "u8",
        TypeDefPrimitive::U16 => "u16",
        TypeDefPrimitive::U32 => "u32",
        TypeDefPrimitive::U64 => "u64",
        TypeDefPrimitive::U128 => "u128",
        TypeDefPrimitive::U256 => "u256",
        TypeDefPrimitive::I8 => "i8",
        TypeDefPrimitive::I16 => "i16",
        TypeDefPrimitive::I32 => "i32",
        TypeDefPrimitive::I64 => "i64",
        TypeDefPrimitive::I128 => "i128",
        TypeDefPrimitive::I256 => "i256",
    }
}

fn is_u8(registry: &PortableRegistry, ty: u32) -> bool {
    matches!(
        registry.resolve(ty).map(|t| &t.type_def),
        Some(TypeDef::Primitive(TypeDefPrimitive::U8))
    )
}

fn names(fields: &[Field<PortableForm>]) -> String {
    let named: Vec<&str> = fields.iter().filter_map(|f| f.name.as_deref()).collect();
    if named.is_empty() {
        "none".into()
    } else {
        named.join(", ")
    }
}

fn variant_names(variants: &[scale_info::Variant<PortableForm>]) -> String {
    variants
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn take<'a>(input: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], ScaleError> {
    if input.len() < n {
        return Err(ScaleError::Truncated(what.to_string()));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn read<T: Decode>(input: &mut &[u8], what: &str) -> Result<T, ScaleError> {
    T::decode(input).map_err(|_| ScaleError::Truncated(what.to_string()))
}

/// Reads a compact length and checks it against the bytes left: every item takes at least
/// one byte (zero-sized items are refused beyond the input's length, which no real type
/// needs), so nothing is allocated for lengths the input cannot hold.
fn read_len(input: &mut &[u8], what: &str) -> Result<usize, ScaleError> {
    let len = read::<Compact<u32>>(input, what)?.0;
    check_len(u64::from(len), input.len())
}

fn check_len(len: u64, remaining: usize) -> Result<usize, ScaleError> {
    match usize::try_from(len) {
        Ok(n) if n <= remaining => Ok(n),
        _ => Err(ScaleError::LengthTooLong { len, remaining }),
    }
}

fn big(n: impl ToString) -> Value {
    Value::String(n.to_string())
}

struct Decoder<'r> {
    registry: &'r PortableRegistry,
}

impl Decoder<'_> {
    fn value(&self, id: u32, input: &mut &[u8], depth: u32) -> Result<Value, ScaleError> {
        if depth > MAX_DEPTH {
            return Err(ScaleError::TooDeep);
        }
        let ty = resolve(self.registry, id)?;
        if is_account_id(ty) {
            let bytes = take(input, 32, "an account id")?;
            let mut raw = [0u8; 32];
            raw.copy_from_slice(bytes);
            return Ok(Value::String(to_ss58(&AccountId32::new(raw))));
        }
        match &ty.type_def {
            TypeDef::Composite(c) => self.fields(&c.fields, input, depth + 1),
            TypeDef::Variant(v) => {
                let index: u8 = read(input, "an enum's variant index")?;
                let variant = v
                    .variants
                    .iter()
                    .find(|v| v.index == index)
                    .ok_or_else(|| ScaleError::UnknownVariantIndex {
                        ty: type_name(ty),
                        index,
                    })?;
                if variant.fields.is_empty() {
                    return Ok(Value::String(variant.name.clone()));
                }
                let fields = self.fields(&variant.fields, input, depth + 1)?;
                let mut object = Map::new();
                object.insert(variant.name.clone(), fields);
                Ok(Value::Object(object))
            }
            TypeDef::Sequence(s) => {
                let len = read_len(input, "a sequence's length")?;
                self.items(s.type_param.id, len, input, depth)
            }
            TypeDef::Array(a) => {
                let len = check_len(u64::from(a.len), input.len())?;
                self.items(a.type_param.id, len, input, depth)
            }
            TypeDef::Tuple(t) => {
                if t.fields.is_empty() {
                    return Ok(Value::Null);
                }
                let items = t
                    .fields
                    .iter()
                    .map(|f| self.value(f.id, input, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::Array(items))
            }
            TypeDef::Primitive(p) => primitive(p, input),
            TypeDef::Compact(c) => self.compact(c.type_param.id, input, depth + 1),
            TypeDef::BitSequence(_) => Err(ScaleError::Unsupported("a bit sequence".into())),
        }
    }

    fn items(
        &self,
        elem: u32,
        len: usize,
        input: &mut &[u8],
        depth: u32,
    ) -> Result<Value, ScaleError> {
        if is_u8(self.registry, elem) {
            return Ok(Value::String(to_hex(take(input, len, "bytes")?)));
        }
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(self.value(elem, input, depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn fields(
        &self,
        fields: &[Field<PortableForm>],
        input: &mut &[u8],
        depth: u32,
    ) -> Result<Value, ScaleError> {
        if fields.is_empty() {
            return Ok(Value::Null);
        }
        if fields.iter().all(|f| f.name.is_some()) {
            let mut object = Map::new();
            for field in fields {
                let value = self.value(field.ty.id, input, depth)?;
                object.insert(field.name.clone().unwrap_or_default(), value);
            }
            return Ok(Value::Object(object));
        }
        if let [only] = fields {
            return self.value(only.ty.id, input, depth);
        }
        let items = fields
            .iter()
            .map(|f| self.value(f.ty.id, input, depth))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Value::Array(items))
    }

    fn compact(&self, id: u32, input: &mut &[u8], depth: u32) -> Result<Value, ScaleError> {
        if depth > MAX_DEPTH {
            return Err(ScaleError::TooDeep);
        }
        let ty = resolve(self.registry, id)?;
        let what = "a compact integer";
        match &ty.type_def {
            TypeDef::Primitive(p) => Ok(match p {
                TypeDefPrimitive::U8 => Value::from(read::<Compact<u8>>(input, what)?.0),
                TypeDefPrimitive::U16 => Value::from(read::<Compact<u16>>(input, what)?.0),
                TypeDefPrimitive::U32 => Value::from(read::<Compact<u32>>(input, what)?.0),
                TypeDefPrimitive::U64 => big(read::<Compact<u64>>(input, what)?.0),
                TypeDefPrimitive::U128 => big(read::<Compact<u128>>(input, what)?.0),
                other => {
                    return Err(ScaleError::Unsupported(format!(
                        "a compact {}",
                        primitive_name(other)
                    )))
                }
            }),
            // Compact<Wrapper(u64)>: the wrapper's single field carries the number.
            TypeDef::Composite(c) => match c.fields.as_slice() {
                [only] => {
                    let inner = self.compact(only.ty.id, input, depth + 1)?;
                    Ok(match &only.name {
                        Some(name) => {
                            let mut object = Map::new();
                            object.insert(name.clone(), inner);
                            Value::Object(object)
                        }
                        None => inner,
                    })
                }
                _ => Err(ScaleError::Unsupported(format!(
                    "a compact {}",
                    type_name(ty)
                ))),
            },
            TypeDef::Tuple(t) if t.fields.is_empty() => Ok(Value::Null),
            _ => Err(ScaleError::Unsupported(format!(
                "a compact {}",
                type_name(ty)
            ))),
        }
    }
}

fn primitive(p: &TypeDefPrimitive, input: &mut &[u8]) -> Result<Value, ScaleError> {
    let what = primitive_name(p);
    Ok(match p {
        TypeDefPrimitive::Bool => match read::<u8>(input, what)? {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            other => {
                return Err(ScaleError::InvalidBytes {
                    what: what.into(),
                    reason: format!("byte {other} is neither 0 nor 1"),
                })
            }
        },
        TypeDefPrimitive::Char => {
            let code: u32 = read(input, what)?;
            let c = char::from_u32(code).ok_or_else(|| ScaleError::InvalidBytes {
                what: what.into(),
                reason: format!("{code:#x} is not a Unicode scalar value"),
            })?;
            Value::String(c.to_string())
        }
        TypeDefPrimitive::Str => {
            let len = read_len(input, "a string's length")?;
            let bytes = take(input, len, "a string")?;
            let text = std::str::from_utf8(bytes).map_err(|e| ScaleError::InvalidBytes {
                what: what.into(),
                reason: e.to_string(),
            })?;
            Value::String(text.to_string())
        }
        TypeDefPrimitive::U8 => Value::from(read::<u8>(input, what)?),
        TypeDefPrimitive::U16 => Value::from(read::<u16>(input, what)?),
        TypeDefPrimitive::U32 => Value::from(read::<u32>(input, what)?),
        TypeDefPrimitive::U64 => big(read::<u64>(input, what)?),
        TypeDefPrimitive::U128 => big(read::<u128>(input, what)?),
        TypeDefPrimitive::I8 => Value::from(read::<i8>(input, what)?),
        TypeDefPrimitive::I16 => Value::from(read::<i16>(input, what)?),
        TypeDefPrimitive::I32 => Value::from(read::<i32>(input, what)?),
        TypeDefPrimitive::I64 => big(read::<i64>(input, what)?),
        TypeDefPrimitive::I128 => big(read::<i128>(input, what)?),
        TypeDefPrimitive::U256 | TypeDefPrimitive::I256 => {
            Value::String(to_hex(take(input, 32, what)?))
        }
    })
}

struct Encoder<'r> {
    registry: &'r PortableRegistry,
    /// Where the value being encoded sits in the input, for error messages.
    path: Vec<String>,
}

fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

impl Encoder<'_> {
    fn at(&self) -> String {
        if self.path.is_empty() {
            "the value".into()
        } else {
            self.path.join(".")
        }
    }

    fn bad(&self, expected: impl Into<String>, got: &Value) -> ScaleError {
        ScaleError::BadValue {
            at: self.at(),
            expected: expected.into(),
            got: describe(got),
        }
    }

    fn nested<T>(&mut self, segment: String, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(segment);
        let result = f(self);
        self.path.pop();
        result
    }

    fn value(
        &mut self,
        id: u32,
        value: &Value,
        out: &mut Vec<u8>,
        depth: u32,
    ) -> Result<(), ScaleError> {
        if depth > MAX_DEPTH {
            return Err(ScaleError::TooDeep);
        }
        let registry = self.registry;
        let ty = resolve(registry, id)?;
        if is_account_id(ty) {
            let account = self.account(value)?;
            out.extend_from_slice(account.as_ref());
            return Ok(());
        }
        match &ty.type_def {
            TypeDef::Composite(c) => self.fields(&c.fields, value, out, depth + 1),
            TypeDef::Variant(v) => self.variant(ty, &v.variants, value, out, depth),
            TypeDef::Sequence(s) => {
                let elem = s.type_param.id;
                if is_u8(registry, elem) {
                    if let Value::String(text) = value {
                        let bytes = if text.starts_with("0x") {
                            from_hex(text).map_err(|_| self.bad("0x hex bytes", value))?
                        } else {
                            text.as_bytes().to_vec()
                        };
                        let len = self.compact_len(bytes.len(), value)?;
                        Compact(len).encode_to(out);
                        out.extend_from_slice(&bytes);
                        return Ok(());
                    }
                }
                let Value::Array(items) = value else {
                    return Err(self.bad("an array", value));
                };
                let len = self.compact_len(items.len(), value)?;
                Compact(len).encode_to(out);
                self.items(elem, items, out, depth)
            }
            TypeDef::Array(a) => {
                let elem = a.type_param.id;
                let expected = usize::try_from(a.len).unwrap_or(usize::MAX);
                if is_u8(registry, elem) {
                    if let Value::String(text) = value {
                        let bytes = from_hex(text)
                            .ok()
                            .filter(|b| text.starts_with("0x") && b.len() == expected)
                            .ok_or_else(|| {
                                self.bad(format!("0x hex of {expected} bytes"), value)
                            })?;
                        out.extend_from_slice(&bytes);
                        return Ok(());
                    }
                }
                match value {
                    Value::Array(items) if items.len() == expected => {
                        self.items(elem, items, out, depth)
                    }
                    _ => Err(self.bad(format!("an array of {expected} items"), value)),
                }
            }
            TypeDef::Tuple(t) => {
                if t.fields.is_empty() {
                    return match value {
                        Value::Null => Ok(()),
                        Value::Array(items) if items.is_empty() => Ok(()),
                        _ => Err(self.bad("null", value)),
                    };
                }
                match value {
                    Value::Array(items) if items.len() == t.fields.len() => {
                        for (i, (field, item)) in t.fields.iter().zip(items).enumerate() {
                            self.nested(i.to_string(), |e| {
                                e.value(field.id, item, out, depth + 1)
                            })?;
                        }
                        Ok(())
                    }
                    _ => Err(self.bad(format!("an array of {} items", t.fields.len()), value)),
                }
            }
            TypeDef::Primitive(p) => self.primitive(p, value, out),
            TypeDef::Compact(c) => self.compact(c.type_param.id, value, out, depth + 1),
            TypeDef::BitSequence(_) => Err(ScaleError::Unsupported(format!(
                "{}: a bit sequence",
                self.at()
            ))),
        }
    }

    fn compact_len(&self, len: usize, value: &Value) -> Result<u32, ScaleError> {
        u32::try_from(len).map_err(|_| self.bad("fewer than 2^32 items", value))
    }

    fn items(
        &mut self,
        elem: u32,
        items: &[Value],
        out: &mut Vec<u8>,
        depth: u32,
    ) -> Result<(), ScaleError> {
        for (i, item) in items.iter().enumerate() {
            self.nested(i.to_string(), |e| e.value(elem, item, out, depth + 1))?;
        }
        Ok(())
    }

    fn account(&self, value: &Value) -> Result<AccountId32, ScaleError> {
        match value {
            Value::String(text) => parse_account(text.trim()).map_err(|e| ScaleError::BadValue {
                at: self.at(),
                expected: "an SS58 address (prefix 42) or a 0x 32-byte public key".into(),
                got: format!("{} ({e})", describe(value)),
            }),
            _ => Err(self.bad("an SS58 address", value)),
        }
    }

    fn fields(
        &mut self,
        fields: &[Field<PortableForm>],
        value: &Value,
        out: &mut Vec<u8>,
        depth: u32,
    ) -> Result<(), ScaleError> {
        if depth > MAX_DEPTH {
            return Err(ScaleError::TooDeep);
        }
        if fields.is_empty() {
            return match value {
                Value::Null => Ok(()),
                Value::Object(o) if o.is_empty() => Ok(()),
                Value::Array(a) if a.is_empty() => Ok(()),
                _ => Err(self.bad("no fields (null or {})", value)),
            };
        }
        if fields.iter().all(|f| f.name.is_some()) {
            let Value::Object(object) = value else {
                return Err(self.bad(format!("an object with fields {}", names(fields)), value));
            };
            if let Some(unknown) = object.keys().find(|key| {
                !fields
                    .iter()
                    .any(|f| f.name.as_deref() == Some(key.as_str()))
            }) {
                return Err(ScaleError::UnknownField {
                    at: self.at(),
                    field: unknown.clone(),
                    expected: names(fields),
                });
            }
            for field in fields {
                let name = field.name.clone().unwrap_or_default();
                let Some(item) = object.get(&name) else {
                    return Err(ScaleError::MissingField {
                        at: self.at(),
                        field: name,
                        expected: names(fields),
                    });
                };
                self.nested(name, |e| e.value(field.ty.id, item, out, depth))?;
            }
            return Ok(());
        }
        if let [only] = fields {
            return self.value(only.ty.id, value, out, depth);
        }
        match value {
            Value::Array(items) if items.len() == fields.len() => {
                for (i, (field, item)) in fields.iter().zip(items).enumerate() {
                    self.nested(i.to_string(), |e| e.value(field.ty.id, item, out, depth))?;
                }
                Ok(())
            }
            _ => Err(self.bad(format!("an array of {} items", fields.len()), value)),
        }
    }

    fn variant(
        &mut self,
        ty: &Type<PortableForm>,
        variants: &[scale_info::Variant<PortableForm>],
        value: &Value,
        out: &mut Vec<u8>,
        depth: u32,
    ) -> Result<(), ScaleError> {
        let find = |name: &str| {
            variants
                .iter()
                .find(|v| v.name == name)
                .or_else(|| variants.iter().find(|v| v.name.eq_ignore_ascii_case(name)))
        };
        let unknown = |encoder: &Self, name: &str| ScaleError::UnknownVariant {
            at: encoder.at(),
            name: name.to_string(),
            expected: variant_names(variants),
        };
        let (variant, fields_value) = match value {
            Value::String(name) => match find(name) {
                Some(variant) => (variant, &Value::Null),
                // A plain address where a MultiAddress goes means `Id(address)`.
                None if path_is(ty, &["sp_runtime", "multiaddress", "MultiAddress"]) => {
                    let id = find("Id").ok_or_else(|| unknown(self, "Id"))?;
                    (id, value)
                }
                None => return Err(unknown(self, name)),
            },
            Value::Null => match find("None") {
                Some(variant) if variant.fields.is_empty() => (variant, &Value::Null),
                _ => return Err(self.bad(format!("one of {}", variant_names(variants)), value)),
            },
            Value::Object(object) if object.len() == 1 => {
                let Some((name, inner)) = object.iter().next() else {
                    return Err(self.bad("{\"Variant\": fields}", value));
                };
                (find(name).ok_or_else(|| unknown(self, name))?, inner)
            }
            _ => {
                return Err(self.bad(
                    format!(
                        "\"Variant\" or {{\"Variant\": fields}}, variants: {}",
                        variant_names(variants)
                    ),
                    value,
                ))
            }
        };
        out.push(variant.index);
        let name = variant.name.clone();
        self.nested(name, |e| {
            e.fields(&variant.fields, fields_value, out, depth + 1)
        })
    }

    fn integer(&self, value: &Value, what: &str) -> Result<i128, ScaleError> {
        let parsed = match value {
            Value::Number(n) => n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from)),
            Value::String(text) => text.trim().parse::<i128>().ok(),
            _ => None,
        };
        parsed.ok_or_else(|| self.bad(format!("{what} (a number or a decimal string)"), value))
    }

    fn unsigned(&self, value: &Value, what: &str) -> Result<u128, ScaleError> {
        // u128 beyond i128::MAX only arrives as a string.
        if let Value::String(text) = value {
            if let Ok(n) = text.trim().parse::<u128>() {
                return Ok(n);
            }
        }
        let n = self.integer(value, what)?;
        u128::try_from(n).map_err(|_| self.bad(format!("{what} (not negative)"), value))
    }

    fn primitive(
        &self,
        p: &TypeDefPrimitive,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), ScaleError> {
        let what = primitive_name(p);
        let range = || self.bad(format!("a {what} in range"), value);
        match p {
            TypeDefPrimitive::Bool => match value {
                Value::Bool(b) => b.encode_to(out),
                _ => return Err(self.bad("true or false", value)),
            },
            TypeDefPrimitive::Char => {
                let c = value
                    .as_str()
                    .and_then(|s| {
                        let mut chars = s.chars();
                        let c = chars.next()?;
                        chars.next().is_none().then_some(c)
                    })
                    .ok_or_else(|| self.bad("one character", value))?;
                u32::from(c).encode_to(out);
            }
            TypeDefPrimitive::Str => match value {
                Value::String(text) => text.encode_to(out),
                _ => return Err(self.bad("a string", value)),
            },
            TypeDefPrimitive::U8 => u8::try_from(self.unsigned(value, what)?)
                .map_err(|_| range())?
                .encode_to(out),
            TypeDefPrimitive::U16 => u16::try_from(self.unsigned(value, what)?)
                .map_err(|_| range())?
                .encode_to(out),
            TypeDefPrimitive::U32 => u32::try_from(self.unsigned(value, what)?)
                .map_err(|_| range())?
                .encode_to(out),
            TypeDefPrimitive::U64 => u64::try_from(self.unsigned(value, what)?)
                .map_err(|_| range())?
                .encode_to(out),
            TypeDefPrimitive::U128 => self.unsigned(value, what)?.encode_to(out),
            TypeDefPrimitive::I8 => i8::try_from(self.integer(value, what)?)
                .map_err(|_| range())?
                .encode_to(out),
            TypeDefPrimitive::I16 => i16::try_from(self.integer(value, what)?)
                .map_err(|_| range())?
                .encode_to(out),
            TypeDefPrimitive::I32 => i32::try_from(self.integer(value, what)?)
                .map_err(|_| range())?
                .encode_to(out),
            TypeDefPrimitive::I64 => i64::try_from(self.integer(value, what)?)
                .map_err(|_| range())?
                .encode_to(out),
            TypeDefPrimitive::I128 => self.integer(value, what)?.encode_to(out),
            TypeDefPrimitive::U256 | TypeDefPrimitive::I256 => {
                let bytes = value
                    .as_str()
                    .filter(|s| s.starts_with("0x"))
                    .and_then(|s| from_hex(s).ok())
                    .filter(|b| b.len() == 32)
                    .ok_or_else(|| self.bad("0x hex of 32 bytes", value))?;
                out.extend_from_slice(&bytes);
            }
        }
        Ok(())
    }

    fn compact(
        &mut self,
        id: u32,
        value: &Value,
        out: &mut Vec<u8>,
        depth: u32,
    ) -> Result<(), ScaleError> {
        if depth > MAX_DEPTH {
            return Err(ScaleError::TooDeep);
        }
        let ty = resolve(self.registry, id)?;
        match &ty.type_def {
            TypeDef::Primitive(p) => {
                let what = primitive_name(p);
                let n = self.unsigned(value, what)?;
                let range = || self.bad(format!("a {what} in range"), value);
                match p {
                    TypeDefPrimitive::U8 => {
                        Compact(u8::try_from(n).map_err(|_| range())?).encode_to(out)
                    }
                    TypeDefPrimitive::U16 => {
                        Compact(u16::try_from(n).map_err(|_| range())?).encode_to(out)
                    }
                    TypeDefPrimitive::U32 => {
                        Compact(u32::try_from(n).map_err(|_| range())?).encode_to(out)
                    }
                    TypeDefPrimitive::U64 => {
                        Compact(u64::try_from(n).map_err(|_| range())?).encode_to(out)
                    }
                    TypeDefPrimitive::U128 => Compact(n).encode_to(out),
                    other => {
                        return Err(ScaleError::Unsupported(format!(
                            "a compact {}",
                            primitive_name(other)
                        )))
                    }
                }
                Ok(())
            }
            TypeDef::Composite(c) => match c.fields.as_slice() {
                [only] => {
                    let inner = match (&only.name, value) {
                        (Some(name), Value::Object(object)) => object
                            .get(name)
                            .filter(|_| object.len() == 1)
                            .ok_or_else(|| self.bad(format!("{{\"{name}\": number}}"), value))?,
                        _ => value,
                    };
                    self.compact(only.ty.id, inner, out, depth + 1)
                }
                _ => Err(ScaleError::Unsupported(format!(
                    "a compact {}",
                    type_name(ty)
                ))),
            },
            TypeDef::Tuple(t) if t.fields.is_empty() => Ok(()),
            _ => Err(ScaleError::Unsupported(format!(
                "a compact {}",
                type_name(ty)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::ChainMetadata;
    use arceon_pallet_balances as balances;
    use arceon_pallet_system::{AccountData, AccountInfo};
    use arceon_primitives::{Keyring, MultiAddress, ARCM};
    use arceon_runtime::Call;
    use serde_json::json;

    fn metadata() -> ChainMetadata {
        ChainMetadata::from_bytes(arceon_runtime::metadata::metadata_bytes(15).expect("V15"))
            .expect("the runtime's metadata reads")
    }

    /// A registry holding only `T`, and `T`'s id in it.
    fn registry_of<T: scale_info::TypeInfo + 'static>() -> (PortableRegistry, u32) {
        let mut registry = scale_info::Registry::new();
        let id = registry.register_type(&scale_info::meta_type::<T>()).id;
        (registry.into(), id)
    }

    fn type_by_path(registry: &PortableRegistry, last: &str) -> u32 {
        registry
            .types
            .iter()
            .find(|t| t.ty.path.segments.last().map(String::as_str) == Some(last))
            .map(|t| t.id)
            .unwrap_or_else(|| panic!("no type {last} in the registry"))
    }

    #[test]
    fn calls_from_json_are_the_runtime_encoding() {
        let meta = metadata();
        let bob = Keyring::Bob.account();
        let expected = Call::Balances(balances::Call::TransferKeepAlive {
            dest: MultiAddress::Id(bob.clone()),
            value: 1_000_000_000_000,
        })
        .encode();
        for args in [
            json!({"dest": "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", "value": "1000000000000"}),
            json!({"dest": {"Id": to_hex(bob.as_ref())}, "value": 1_000_000_000_000u64}),
        ] {
            assert_eq!(
                meta.encode_call("balances", "transfer_keep_alive", &args)
                    .expect("encodes"),
                expected,
                "{args}"
            );
        }
        // Names as Rust or polkadot.js spell them find the same call.
        let args = json!({"dest": to_ss58(&bob), "value": "1000000000000"});
        assert_eq!(
            meta.encode_call("Balances", "transferKeepAlive", &args)
                .unwrap(),
            expected
        );
        let register = crate::world::register_call("bob").unwrap().encode();
        assert_eq!(
            meta.encode_call("Players", "register", &json!({"name": "bob"}))
                .unwrap(),
            register
        );
        assert_eq!(
            meta.encode_call("Players", "register", &json!({"name": "0x626f62"}))
                .unwrap(),
            register
        );
    }

    #[test]
    fn runtime_calls_round_trip_through_the_registry() {
        let meta = metadata();
        let call_ty = meta.call_type().expect("V15 names the call enum");
        let calls = [
            Call::Balances(balances::Call::TransferAllowDeath {
                dest: MultiAddress::Id(Keyring::Charlie.account()),
                value: u128::MAX,
            }),
            crate::world::nominate_call(vec![Keyring::Alice.account(), Keyring::Bob.account()]),
            crate::world::move_call(-5_000, 123_456),
            crate::world::set_keys_call(
                crate::world::parse_session_keys(&format!("0x{}", "ab".repeat(64))).unwrap(),
            ),
            crate::world::split_call(3),
        ];
        for call in calls {
            let bytes = call.encode();
            let value = decode_exact(meta.registry(), call_ty, &bytes).expect("decodes");
            assert_eq!(
                encode(meta.registry(), call_ty, &value).expect("re-encodes"),
                bytes,
                "{value}"
            );
        }
        let transfer = Call::Balances(balances::Call::TransferAllowDeath {
            dest: MultiAddress::Id(Keyring::Charlie.account()),
            value: u128::MAX,
        });
        let value = decode_exact(meta.registry(), call_ty, &transfer.encode()).unwrap();
        // The call's name is whatever the metadata spells (snake_case in Substrate).
        let args = value["Balances"]
            .as_object()
            .and_then(|calls| calls.values().next())
            .expect("one call");
        assert_eq!(args["value"], json!(u128::MAX.to_string()), "{value}");
        assert_eq!(
            args["dest"],
            json!({"Id": to_ss58(&Keyring::Charlie.account())})
        );
    }

    #[test]
    fn storage_values_decode_with_big_numbers_as_strings() {
        let meta = metadata();
        let ty = type_by_path(meta.registry(), "AccountInfo");
        let info = AccountInfo {
            nonce: 7,
            consumers: 1,
            providers: 2,
            sufficients: 0,
            data: AccountData {
                free: 5 * ARCM,
                reserved: 1,
                frozen: 0,
                flags: 0,
            },
        };
        let value = decode_exact(meta.registry(), ty, &info.encode()).unwrap();
        assert_eq!(value["nonce"], json!(7));
        assert_eq!(value["data"]["free"], json!((5 * ARCM).to_string()));
        assert_eq!(encode(meta.registry(), ty, &value).unwrap(), info.encode());
    }

    type Everything = (
        (u8, u16, u32, u64, u128),
        (i8, i16, i32, i64, i128),
        (bool, String, Vec<u8>, [u8; 4]),
        (Option<u32>, Compact<u128>, Vec<u32>, (), Result<u8, bool>),
    );

    #[test]
    fn every_shape_round_trips_with_its_json_form() {
        let (registry, id) = registry_of::<Everything>();
        let original: Everything = (
            (1, 2, 3, u64::MAX, u128::MAX),
            (-1, -2, -3, i64::MIN, i128::MIN),
            (true, "héllo".into(), b"bytes".to_vec(), [1, 2, 3, 4]),
            (Some(9), Compact(1u128 << 100), vec![1, 2], (), Err(true)),
        );
        let value = decode_exact(&registry, id, &original.encode()).unwrap();
        assert_eq!(
            value,
            json!([
                [1, 2, 3, u64::MAX.to_string(), u128::MAX.to_string()],
                [-1, -2, -3, i64::MIN.to_string(), i128::MIN.to_string()],
                [true, "héllo", "0x6279746573", "0x01020304"],
                [{"Some": 9}, (1u128 << 100).to_string(), [1, 2], null, {"Err": true}],
            ])
        );
        assert_eq!(encode(&registry, id, &value).unwrap(), original.encode());
        // Inputs may be numbers or strings, text for bytes, null for None.
        let loose = json!([
            ["1", 2, "3", u64::MAX.to_string(), "340282366920938463463374607431768211455"],
            [-1, "-2", -3, i64::MIN, i128::MIN.to_string()],
            [true, "héllo", "bytes", [1, 2, 3, 4]],
            [{"Some": "9"}, (1u128 << 100).to_string(), ["1", 2], null, {"Err": true}],
        ]);
        assert_eq!(encode(&registry, id, &loose).unwrap(), original.encode());
        let (registry, id) = registry_of::<Option<u32>>();
        assert_eq!(encode(&registry, id, &Value::Null).unwrap(), vec![0]);
        assert_eq!(encode(&registry, id, &json!("None")).unwrap(), vec![0]);
        // char is a u32 code point (the codec crate has no Encode for it).
        let (registry, id) = registry_of::<char>();
        let lambda = u32::from('λ').encode();
        assert_eq!(decode_exact(&registry, id, &lambda).unwrap(), json!("λ"));
        assert_eq!(encode(&registry, id, &json!("λ")).unwrap(), lambda);
        assert!(decode_exact(&registry, id, &0xd800u32.encode()).is_err());
    }

    #[test]
    fn bad_json_values_name_the_argument() {
        let meta = metadata();
        let call = |args: Value| meta.encode_call("Balances", "transfer_keep_alive", &args);
        let message = |args: Value| call(args).expect_err("refused").to_string();
        let bob = to_ss58(&Keyring::Bob.account());

        let missing = message(json!({"dest": bob}));
        assert!(missing.contains("missing field `value`"), "{missing}");
        let unknown = message(json!({"dest": bob, "value": 1, "amount": 2}));
        assert!(unknown.contains("unknown field `amount`"), "{unknown}");
        let negative = message(json!({"dest": bob, "value": -1}));
        assert!(negative.contains("args.value"), "{negative}");
        let fraction = message(json!({"dest": bob, "value": 1.5}));
        assert!(fraction.contains("args.value"), "{fraction}");
        let address = message(json!({"dest": "5NotAnAddress", "value": 1}));
        assert!(address.contains("args.dest"), "{address}");
        assert!(address.contains("SS58"), "{address}");
        let variant = message(json!({"dest": {"Nope": bob}, "value": 1}));
        assert!(variant.contains("unknown variant `Nope`"), "{variant}");
        let shape = message(json!(["not", "an object"]));
        assert!(
            shape.contains("an object with fields dest, value"),
            "{shape}"
        );
        assert!(matches!(
            meta.encode_call("Nope", "x", &json!({})),
            Err(crate::meta::MetaError::UnknownPallet { .. })
        ));
        let no_call = meta
            .encode_call("Balances", "steal", &json!({}))
            .expect_err("no such call")
            .to_string();
        assert!(
            no_call
                .replace('_', "")
                .to_lowercase()
                .contains("transferkeepalive"),
            "{no_call}"
        );

        let (registry, id) = registry_of::<(u8, [u8; 2], i8)>();
        for bad in [
            json!([256, "0x0102", 0]),
            json!([1, "0x010203", 0]),
            json!([1, "0xzz", 0]),
            json!([1, "0x0102", 128]),
            json!([1, "0x0102"]),
            json!({"a": 1}),
        ] {
            assert!(
                matches!(
                    encode(&registry, id, &bad),
                    Err(ScaleError::BadValue { .. })
                ),
                "{bad}"
            );
        }
    }

    /// A type that contains itself, to provoke unbounded recursion.
    #[derive(scale_info::TypeInfo, Encode)]
    struct Nest {
        inner: Option<Box<Nest>>,
    }

    #[test]
    fn hostile_bytes_are_errors_not_panics_or_huge_allocations() {
        let (registry, vec_ty) = registry_of::<Vec<u64>>();
        // A length of 2^30 items behind 3 bytes: refused before allocating.
        let mut bytes = Compact(1u32 << 30).encode();
        bytes.extend([0, 0, 0]);
        assert!(matches!(
            decode_exact(&registry, vec_ty, &bytes),
            Err(ScaleError::LengthTooLong { .. })
        ));
        // Truncated at every point.
        let valid = vec![1u64, 2, 3].encode();
        for end in 0..valid.len() {
            assert!(
                decode_exact(&registry, vec_ty, &valid[..end]).is_err(),
                "{end}"
            );
        }
        // Left-over bytes.
        let mut long = valid.clone();
        long.push(0);
        assert_eq!(
            decode_exact(&registry, vec_ty, &long),
            Err(ScaleError::TrailingBytes(1))
        );
        // Invalid primitives.
        let (registry, ty) = registry_of::<(bool, String)>();
        assert!(matches!(
            decode_exact(&registry, ty, &[2, 0]),
            Err(ScaleError::InvalidBytes { .. })
        ));
        assert!(matches!(
            decode_exact(&registry, ty, &[1, 8, 0xff, 0xfe]),
            Err(ScaleError::InvalidBytes { .. })
        ));
        assert!(matches!(
            decode_exact(&registry, ty, &[1, 8, 0xff]),
            Err(ScaleError::LengthTooLong { len: 2, .. })
        ));
        assert!(matches!(
            decode_exact(&registry, ty, &[1]),
            Err(ScaleError::Truncated(_))
        ));
        // Unknown variants and types.
        let (registry, ty) = registry_of::<Option<u8>>();
        assert!(matches!(
            decode_exact(&registry, ty, &[7, 0]),
            Err(ScaleError::UnknownVariantIndex { index: 7, .. })
        ));
        assert_eq!(
            decode_exact(&registry, 9_999, &[0]),
            Err(ScaleError::UnknownType(9_999))
        );
        // Deep nesting, in bytes and in JSON.
        let (registry, ty) = registry_of::<Nest>();
        let mut deep = Nest { inner: None };
        for _ in 0..200 {
            deep = Nest {
                inner: Some(Box::new(deep)),
            };
        }
        assert_eq!(
            decode_exact(&registry, ty, &deep.encode()),
            Err(ScaleError::TooDeep)
        );
        let mut value = json!({"inner": null});
        for _ in 0..100 {
            value = json!({"inner": {"Some": value}});
        }
        assert_eq!(encode(&registry, ty, &value), Err(ScaleError::TooDeep));
        let shallow = Nest {
            inner: Some(Box::new(Nest { inner: None })),
        };
        let decoded = decode_exact(&registry, ty, &shallow.encode()).unwrap();
        assert_eq!(decoded, json!({"inner": {"Some": {"inner": "None"}}}));
        assert_eq!(encode(&registry, ty, &decoded).unwrap(), shallow.encode());
    }

    #[test]
    fn random_bytes_never_panic_the_call_decoder() {
        let meta = metadata();
        let call_ty = meta.call_type().expect("call type");
        // A fixed xorshift stream: the same inputs every run.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let valid = crate::world::register_call("bob").unwrap().encode();
        for round in 0..3_000 {
            let len = usize::try_from(next() % 80).unwrap_or(0);
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 3 == 0 {
                // Mostly valid: a real call with a few bytes flipped.
                bytes = valid.clone();
                let at = usize::try_from(next()).unwrap_or(0) % bytes.len();
                bytes[at] = next() as u8;
            }
            let _ = decode_exact(meta.registry(), call_ty, &bytes);
            let _ = meta.decode_events(&bytes);
        }
    }
}
