//! The node's runtime metadata as the wallet uses it: pallets by name and index with their
//! call, event and error types, calls encoded from JSON arguments, `System.Events` decoded
//! into named events, and module errors named `Pallet.Error`. Everything goes through the
//! metadata's type registry ([`crate::scale`]), never through the runtime's Rust types, so
//! the wallet follows whatever runtime the node runs.
//!
//! Invariants: a [`ChainMetadata`] is only built from well-formed V14 or V15 metadata (the
//! `meta` magic, a known version, every pallet's types present in the registry); lookups
//! by name are case-insensitive; decoding events checks that the bytes are consumed
//! exactly.

use codec::{Compact, Decode};
use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed, META_RESERVED};
use scale_info::form::PortableForm;
use scale_info::{PortableRegistry, TypeDef, Variant};
use serde_json::Value;

use crate::scale::{self, ScaleError};

/// Why metadata could not be used, or a call not built from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    /// The bytes are not `RuntimeMetadataPrefixed` of a version the wallet reads.
    #[error("unusable runtime metadata: {0}")]
    Malformed(String),
    /// No pallet of that name.
    #[error("no pallet `{name}` in the runtime (pallets: {known})")]
    UnknownPallet {
        /// The name asked for.
        name: String,
        /// The runtime's pallets.
        known: String,
    },
    /// The pallet has no call of that name.
    #[error("pallet {pallet} has no call `{name}` (calls: {known})")]
    UnknownCall {
        /// The pallet.
        pallet: String,
        /// The name asked for.
        name: String,
        /// The pallet's calls.
        known: String,
    },
    /// The call's arguments do not fit its types.
    #[error("bad arguments for {pallet}.{call}: {error}")]
    BadArguments {
        /// The pallet.
        pallet: String,
        /// The call.
        call: String,
        /// What does not fit.
        error: Box<ScaleError>,
    },
    /// Events that do not decode with the metadata.
    #[error("cannot decode System.Events: {0}")]
    BadEvents(String),
}

/// One pallet of the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pallet {
    /// Its name (`Balances`).
    pub name: String,
    /// Its index: the first byte of its calls, events and errors.
    pub index: u8,
    /// Its call enum's type id.
    pub calls: Option<u32>,
    /// Its event enum's type id.
    pub event: Option<u32>,
    /// Its error enum's type id.
    pub error: Option<u32>,
}

/// One field of a decoded event, with the type information rendering needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventField {
    /// The field's name (`amount`), `None` for unnamed fields.
    pub name: Option<String>,
    /// The type name as written in the runtime's source (`Balance`).
    pub type_name: Option<String>,
    /// The field's type id in the registry.
    pub ty: u32,
    /// Its value as [`crate::scale`] decodes it.
    pub value: Value,
}

/// One runtime event, named through the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The pallet's name (`Balances`).
    pub pallet: String,
    /// The event's name (`Transfer`).
    pub name: String,
    /// Its fields, in declaration order.
    pub fields: Vec<EventField>,
}

impl Event {
    /// Whether this is `pallet.name`.
    pub fn is(&self, pallet: &str, name: &str) -> bool {
        self.pallet == pallet && self.name == name
    }

    /// The value of the field called `name`.
    pub fn field(&self, name: &str) -> Option<&EventField> {
        self.fields.iter().find(|f| f.name.as_deref() == Some(name))
    }

    /// The event as JSON: `{"pallet", "event", "fields"}` where fields is an object for
    /// named fields, an array for unnamed ones.
    pub fn to_json(&self) -> Value {
        let fields = if self.fields.iter().all(|f| f.name.is_some()) {
            Value::Object(
                self.fields
                    .iter()
                    .map(|f| (f.name.clone().unwrap_or_default(), f.value.clone()))
                    .collect(),
            )
        } else {
            Value::Array(self.fields.iter().map(|f| f.value.clone()).collect())
        };
        serde_json::json!({"pallet": self.pallet, "event": self.name, "fields": fields})
    }
}

/// One `System.Events` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// The extrinsic index for `ApplyExtrinsic(index)`, `None` for the block's
    /// initialization and finalization.
    pub extrinsic: Option<u32>,
    /// The event.
    pub event: Event,
}

/// A node's runtime metadata, ready for lookups.
#[derive(Debug, Clone)]
pub struct ChainMetadata {
    version: u32,
    registry: PortableRegistry,
    pallets: Vec<Pallet>,
    /// `System.Events`' value type (`Vec<EventRecord>`).
    events: Option<u32>,
    /// The runtime's outer call enum.
    call: Option<u32>,
}

fn pallet_list(pallets: &[Pallet]) -> String {
    pallets
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ChainMetadata {
    /// Reads `RuntimeMetadataPrefixed` bytes (what `state_getMetadata` returns), V14 or
    /// V15.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MetaError> {
        let mut input = bytes;
        let prefixed = RuntimeMetadataPrefixed::decode(&mut input)
            .map_err(|e| MetaError::Malformed(format!("undecodable: {e}")))?;
        if prefixed.0 != META_RESERVED {
            return Err(MetaError::Malformed("no `meta` magic".into()));
        }
        if !input.is_empty() {
            return Err(MetaError::Malformed(format!(
                "{} bytes after the metadata",
                input.len()
            )));
        }
        let (version, registry, pallets, events, call) = match prefixed.1 {
            RuntimeMetadata::V14(m) => {
                let events = m
                    .pallets
                    .iter()
                    .find_map(|p| events_entry(&p.name, p.storage.as_ref()));
                let pallets = m
                    .pallets
                    .iter()
                    .map(|p| Pallet {
                        name: p.name.clone(),
                        index: p.index,
                        calls: p.calls.as_ref().map(|c| c.ty.id),
                        event: p.event.as_ref().map(|e| e.ty.id),
                        error: p.error.as_ref().map(|e| e.ty.id),
                    })
                    .collect();
                let call = m.types.resolve(m.extrinsic.ty.id).and_then(|ty| {
                    ty.type_params
                        .iter()
                        .find(|p| p.name == "Call")
                        .and_then(|p| p.ty.map(|t| t.id))
                });
                (14, m.types, pallets, events, call)
            }
            RuntimeMetadata::V15(m) => {
                let events = m
                    .pallets
                    .iter()
                    .find_map(|p| events_entry(&p.name, p.storage.as_ref()));
                let pallets = m
                    .pallets
                    .iter()
                    .map(|p| Pallet {
                        name: p.name.clone(),
                        index: p.index,
                        calls: p.calls.as_ref().map(|c| c.ty.id),
                        event: p.event.as_ref().map(|e| e.ty.id),
                        error: p.error.as_ref().map(|e| e.ty.id),
                    })
                    .collect();
                let call = Some(m.outer_enums.call_enum_ty.id);
                (15, m.types, pallets, events, call)
            }
            other => {
                return Err(MetaError::Malformed(format!(
                    "metadata version {} (the wallet reads 14 and 15)",
                    other.version()
                )))
            }
        };
        let metadata = ChainMetadata {
            version,
            registry,
            pallets,
            events,
            call,
        };
        for pallet in &metadata.pallets {
            for ty in [pallet.calls, pallet.event, pallet.error]
                .into_iter()
                .flatten()
            {
                metadata
                    .variants(ty)
                    .map_err(|e| MetaError::Malformed(format!("pallet {}: {e}", pallet.name)))?;
            }
        }
        Ok(metadata)
    }

    /// The metadata version (14 or 15).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The type registry.
    pub fn registry(&self) -> &PortableRegistry {
        &self.registry
    }

    /// Every pallet, in the metadata's order.
    pub fn pallets(&self) -> &[Pallet] {
        &self.pallets
    }

    /// The runtime's outer call enum (what an extrinsic carries), if the metadata says.
    pub fn call_type(&self) -> Option<u32> {
        self.call
    }

    /// The pallet called `name` (case-insensitive).
    pub fn pallet(&self, name: &str) -> Result<&Pallet, MetaError> {
        self.pallets
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| MetaError::UnknownPallet {
                name: name.to_string(),
                known: pallet_list(&self.pallets),
            })
    }

    /// The pallet with index `index`.
    pub fn pallet_by_index(&self, index: u8) -> Option<&Pallet> {
        self.pallets.iter().find(|p| p.index == index)
    }

    fn variants(&self, ty: u32) -> Result<&[Variant<PortableForm>], ScaleError> {
        match &scale::resolve(&self.registry, ty)?.type_def {
            TypeDef::Variant(v) => Ok(&v.variants),
            _ => Err(ScaleError::Unsupported(format!("type #{ty} as an enum"))),
        }
    }

    /// Encodes `pallet.call(args)` as the runtime decodes it: pallet index, call index,
    /// then the arguments in order. `args` is a JSON object of named arguments; names
    /// match case-insensitively, as do underscores (`transferKeepAlive`).
    pub fn encode_call(
        &self,
        pallet: &str,
        call: &str,
        args: &Value,
    ) -> Result<Vec<u8>, MetaError> {
        let pallet = self.pallet(pallet)?;
        let calls = match pallet.calls {
            Some(ty) => self
                .variants(ty)
                .map_err(|e| MetaError::Malformed(e.to_string()))?,
            None => &[],
        };
        let simple = |name: &str| name.replace('_', "").to_ascii_lowercase();
        let variant = calls
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(call))
            .or_else(|| calls.iter().find(|v| simple(&v.name) == simple(call)))
            .ok_or_else(|| MetaError::UnknownCall {
                pallet: pallet.name.clone(),
                name: call.to_string(),
                known: if calls.is_empty() {
                    "none".into()
                } else {
                    calls
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })?;
        let mut out = vec![pallet.index, variant.index];
        scale::encode_fields(&self.registry, &variant.fields, args, "args", &mut out).map_err(
            |error| MetaError::BadArguments {
                pallet: pallet.name.clone(),
                call: variant.name.clone(),
                error: Box::new(error),
            },
        )?;
        Ok(out)
    }

    /// Decodes the value of `System.Events`.
    pub fn decode_events(&self, bytes: &[u8]) -> Result<Vec<EventRecord>, MetaError> {
        let bad = |e: ScaleError| MetaError::BadEvents(e.to_string());
        let ty = self
            .events
            .ok_or_else(|| MetaError::BadEvents("the metadata has no System.Events".into()))?;
        let record_ty = match &scale::resolve(&self.registry, ty).map_err(bad)?.type_def {
            TypeDef::Sequence(s) => s.type_param.id,
            _ => {
                return Err(MetaError::BadEvents(
                    "System.Events is not a sequence".into(),
                ))
            }
        };
        let record_fields = match &scale::resolve(&self.registry, record_ty)
            .map_err(bad)?
            .type_def
        {
            TypeDef::Composite(c) => &c.fields,
            _ => {
                return Err(MetaError::BadEvents(
                    "an event record is not a struct".into(),
                ))
            }
        };
        let mut input = bytes;
        let count = Compact::<u32>::decode(&mut input)
            .map_err(|_| MetaError::BadEvents("no event count".into()))?
            .0;
        if usize::try_from(count).map_or(true, |n| n > input.len()) {
            return Err(MetaError::BadEvents(format!(
                "{count} events do not fit {} bytes",
                input.len()
            )));
        }
        let mut records = Vec::new();
        for _ in 0..count {
            let mut extrinsic = None;
            let mut event = None;
            for field in record_fields {
                match field.name.as_deref() {
                    Some("event") => event = Some(self.decode_event(field.ty.id, &mut input)?),
                    Some("phase") => {
                        let phase =
                            scale::decode(&self.registry, field.ty.id, &mut input).map_err(bad)?;
                        extrinsic = phase
                            .get("ApplyExtrinsic")
                            .and_then(Value::as_u64)
                            .and_then(|n| u32::try_from(n).ok());
                    }
                    _ => {
                        scale::decode(&self.registry, field.ty.id, &mut input).map_err(bad)?;
                    }
                }
            }
            let event =
                event.ok_or_else(|| MetaError::BadEvents("a record without an event".into()))?;
            records.push(EventRecord { extrinsic, event });
        }
        if !input.is_empty() {
            return Err(bad(ScaleError::TrailingBytes(input.len())));
        }
        Ok(records)
    }

    /// Decodes one event of the outer event enum `ty` (pallet variant, then the pallet's
    /// event variant and its fields).
    pub fn decode_event(&self, ty: u32, input: &mut &[u8]) -> Result<Event, MetaError> {
        let bad = |e: ScaleError| MetaError::BadEvents(e.to_string());
        let pallets = self.variants(ty).map_err(bad)?;
        let index = read_u8(input)?;
        let pallet = pallets
            .iter()
            .find(|v| v.index == index)
            .ok_or_else(|| MetaError::BadEvents(format!("no pallet with event index {index}")))?;
        let [inner] = pallet.fields.as_slice() else {
            return Err(MetaError::BadEvents(format!(
                "pallet {}'s event variant does not wrap one enum",
                pallet.name
            )));
        };
        let events = self.variants(inner.ty.id).map_err(bad)?;
        let index = read_u8(input)?;
        let variant = events.iter().find(|v| v.index == index).ok_or_else(|| {
            MetaError::BadEvents(format!("pallet {} has no event {index}", pallet.name))
        })?;
        let fields = variant
            .fields
            .iter()
            .map(|f| {
                Ok(EventField {
                    name: f.name.clone(),
                    type_name: f.type_name.clone(),
                    ty: f.ty.id,
                    value: scale::decode(&self.registry, f.ty.id, input).map_err(bad)?,
                })
            })
            .collect::<Result<Vec<_>, MetaError>>()?;
        Ok(Event {
            pallet: pallet.name.clone(),
            name: variant.name.clone(),
            fields,
        })
    }

    /// Names a module error: `Balances.InsufficientBalance`; `Balances.Error#200` for a
    /// variant the metadata does not list; `Module { index: 77, error: 1 }` for an
    /// unknown pallet.
    pub fn module_error_name(&self, index: u8, error: u8) -> String {
        let Some(pallet) = self.pallet_by_index(index) else {
            return format!("Module {{ index: {index}, error: {error} }}");
        };
        let name = pallet
            .error
            .and_then(|ty| self.variants(ty).ok())
            .and_then(|variants| variants.iter().find(|v| v.index == error))
            .map(|v| v.name.clone());
        match name {
            Some(name) => format!("{}.{name}", pallet.name),
            None => format!("{}.Error#{error}", pallet.name),
        }
    }
}

fn read_u8(input: &mut &[u8]) -> Result<u8, MetaError> {
    u8::decode(input).map_err(|_| MetaError::BadEvents("the bytes end in an event".into()))
}

/// The value type of `System.Events`, if `pallet` is System and has it.
fn events_entry(
    pallet: &str,
    storage: Option<&frame_metadata::v14::PalletStorageMetadata<PortableForm>>,
) -> Option<u32> {
    if pallet != "System" {
        return None;
    }
    storage?
        .entries
        .iter()
        .find(|e| e.name == "Events")
        .and_then(|e| match &e.ty {
            frame_metadata::v14::StorageEntryType::Plain(ty) => Some(ty.id),
            _ => None,
        })
}
