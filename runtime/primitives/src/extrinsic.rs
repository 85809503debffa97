//! Substrate's v4 `UncheckedExtrinsic`, its signed payload and signature checks.

use codec::{Compact, Decode, Encode, Error as CodecError, Input, Output};
use sp_core::{ed25519, sr25519, Pair as _};

use crate::{blake2_256, AccountId32, Balance, Era, Nonce, H256};

/// The extrinsic format version: 4, with the top bit set when signed.
pub const EXTRINSIC_FORMAT_VERSION: u8 = 4;

/// Substrate's `MultiAddress<AccountId32, u32>`. Only `Id` names an account on Arceon;
/// the other forms decode (so they get a clear error) but do not resolve.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum MultiAddress {
    /// An account id (index 0).
    #[codec(index = 0)]
    Id(AccountId32),
    /// An account index (index 1); Arceon has no indices pallet.
    #[codec(index = 1)]
    Index(#[codec(compact)] u32),
    /// Raw bytes (index 2).
    #[codec(index = 2)]
    Raw(Vec<u8>),
    /// A 32-byte address (index 3).
    #[codec(index = 3)]
    Address32([u8; 32]),
    /// A 20-byte address (index 4).
    #[codec(index = 4)]
    Address20([u8; 20]),
}

impl MultiAddress {
    /// The account this address names, if it is an `Id`.
    pub fn account(&self) -> Option<&AccountId32> {
        match self {
            MultiAddress::Id(id) => Some(id),
            _ => None,
        }
    }
}

impl From<AccountId32> for MultiAddress {
    fn from(id: AccountId32) -> Self {
        MultiAddress::Id(id)
    }
}

/// Substrate's `MultiSignature`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum MultiSignature {
    /// An ed25519 signature (index 0).
    #[codec(index = 0)]
    Ed25519([u8; 64]),
    /// An sr25519 signature (index 1), the one Arceon's keys make.
    #[codec(index = 1)]
    Sr25519([u8; 64]),
    /// An ECDSA signature (index 2); not accepted by Arceon (no account mapping).
    #[codec(index = 2)]
    Ecdsa([u8; 65]),
}

impl MultiSignature {
    /// Whether this signature is valid for `message` by the key `signer`.
    pub fn verify(&self, message: &[u8], signer: &AccountId32) -> bool {
        let key: &[u8; 32] = signer.as_ref();
        match self {
            MultiSignature::Sr25519(sig) => sr25519::Pair::verify(
                &sr25519::Signature::from_raw(*sig),
                message,
                &sr25519::Public::from_raw(*key),
            ),
            MultiSignature::Ed25519(sig) => ed25519::Pair::verify(
                &ed25519::Signature::from_raw(*sig),
                message,
                &ed25519::Public::from_raw(*key),
            ),
            MultiSignature::Ecdsa(_) => false,
        }
    }
}

/// The signed extensions carried in the extrinsic: era, nonce and tip, in Substrate's
/// order (`CheckMortality`, `CheckNonce`, `ChargeTransactionPayment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedExtra {
    /// Validity window.
    pub era: Era,
    /// The signer's nonce (compact).
    pub nonce: Nonce,
    /// Extra fee paid for priority (compact).
    pub tip: Balance,
}

impl Encode for SignedExtra {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        self.era.encode_to(dest);
        Compact(self.nonce).encode_to(dest);
        Compact(self.tip).encode_to(dest);
    }
}

impl Decode for SignedExtra {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        Ok(SignedExtra {
            era: Era::decode(input)?,
            nonce: Compact::<Nonce>::decode(input)?.0,
            tip: Compact::<Balance>::decode(input)?.0,
        })
    }
}

/// What the signature covers beyond the extrinsic itself: it binds the transaction to one
/// runtime version, one chain and one fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, scale_info::TypeInfo)]
pub struct AdditionalSigned {
    /// The runtime's `spec_version`.
    pub spec_version: u32,
    /// The runtime's `transaction_version`.
    pub transaction_version: u32,
    /// The chain's genesis hash.
    pub genesis_hash: H256,
    /// The hash of the era's birth block (genesis hash for immortal).
    pub era_checkpoint: H256,
}

/// The bytes a signer signs: `call ++ extra ++ additional`, hashed with blake2-256 when
/// longer than 256 bytes.
pub struct SignedPayload<'a> {
    /// The encoded call.
    pub call: &'a [u8],
    /// The signed extensions.
    pub extra: SignedExtra,
    /// Chain, runtime and fork binding.
    pub additional: AdditionalSigned,
}

impl SignedPayload<'_> {
    /// The full payload before the long-payload hashing rule.
    pub fn raw(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.call.len() + 96);
        bytes.extend_from_slice(self.call);
        self.extra.encode_to(&mut bytes);
        self.additional.encode_to(&mut bytes);
        bytes
    }

    /// The message that is actually signed.
    pub fn message(&self) -> Vec<u8> {
        let raw = self.raw();
        if raw.len() > 256 {
            blake2_256(&raw).to_vec()
        } else {
            raw
        }
    }
}

/// A call the extrinsic layer does not interpret: the remaining bytes of the extrinsic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueCall(pub Vec<u8>);

impl Encode for OpaqueCall {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        dest.write(&self.0);
    }
}

impl Decode for OpaqueCall {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        let len = input
            .remaining_len()?
            .ok_or("opaque call needs a bounded input")?;
        let mut bytes = vec![0u8; len];
        input.read(&mut bytes)?;
        Ok(OpaqueCall(bytes))
    }
}

/// The deepest nesting of calls (and their arguments) an extrinsic may carry.
pub const MAX_CALL_DEPTH: u32 = 64;

/// Why bytes are not a well-formed extrinsic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtrinsicError {
    /// The length prefix or one of the fields did not decode.
    #[error("undecodable extrinsic: {0}")]
    Undecodable(String),
    /// The version byte is not 4.
    #[error("unsupported extrinsic version {0}")]
    UnsupportedVersion(u8),
    /// Bytes are left over after the call, or the length prefix is wrong.
    #[error("extrinsic length prefix does not match its content")]
    LengthMismatch,
}

/// A Substrate v4 extrinsic: an optional `(address, signature, extra)` and a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncheckedExtrinsic<Call> {
    /// Present for signed transactions; `None` for inherents.
    pub signature: Option<(MultiAddress, MultiSignature, SignedExtra)>,
    /// The call to dispatch.
    pub function: Call,
}

/// The signer of a signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSignature {
    /// The account that signed.
    pub signer: AccountId32,
    /// Its extra.
    pub extra: SignedExtra,
}

impl<Call: Encode + Decode> UncheckedExtrinsic<Call> {
    /// An unsigned extrinsic (inherent).
    pub fn new_unsigned(function: Call) -> Self {
        UncheckedExtrinsic {
            signature: None,
            function,
        }
    }

    /// Signs `function` with an sr25519 key.
    pub fn new_signed(
        function: Call,
        signer: &sr25519::Pair,
        extra: SignedExtra,
        additional: AdditionalSigned,
    ) -> Self {
        let call = function.encode();
        let payload = SignedPayload {
            call: &call,
            extra,
            additional,
        };
        let signature = signer.sign(&payload.message());
        UncheckedExtrinsic {
            signature: Some((
                MultiAddress::Id(AccountId32::from(signer.public())),
                MultiSignature::Sr25519(signature.0),
                extra,
            )),
            function,
        }
    }

    /// Decodes one extrinsic from its full encoding (with length prefix), rejecting any
    /// trailing bytes.
    pub fn decode_exact(bytes: &[u8]) -> Result<Self, ExtrinsicError> {
        let mut input = bytes;
        let xt =
            Self::decode(&mut input).map_err(|e| ExtrinsicError::Undecodable(e.to_string()))?;
        if !input.is_empty() {
            return Err(ExtrinsicError::LengthMismatch);
        }
        Ok(xt)
    }

    /// Checks the signature against `additional`; `None` for unsigned extrinsics.
    pub fn check_signature(
        &self,
        additional: AdditionalSigned,
    ) -> Result<Option<CheckedSignature>, SignatureError> {
        let Some((address, signature, extra)) = &self.signature else {
            return Ok(None);
        };
        let signer = address
            .account()
            .ok_or(SignatureError::UnknownAddressForm)?
            .clone();
        let call = self.function.encode();
        let payload = SignedPayload {
            call: &call,
            extra: *extra,
            additional,
        };
        if !signature.verify(&payload.message(), &signer) {
            return Err(SignatureError::BadProof);
        }
        Ok(Some(CheckedSignature {
            signer,
            extra: *extra,
        }))
    }

    /// The blake2-256 hash of the full encoding: the transaction hash clients see.
    pub fn hash(&self) -> H256 {
        H256(blake2_256(&self.encode()))
    }

    fn encode_inner(&self) -> Vec<u8> {
        let mut inner = Vec::with_capacity(160);
        match &self.signature {
            Some((address, signature, extra)) => {
                inner.push(EXTRINSIC_FORMAT_VERSION | 0x80);
                address.encode_to(&mut inner);
                signature.encode_to(&mut inner);
                extra.encode_to(&mut inner);
            }
            None => inner.push(EXTRINSIC_FORMAT_VERSION),
        }
        self.function.encode_to(&mut inner);
        inner
    }
}

/// Why a signature check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature does not verify over this chain's payload (wrong key, tampered call,
    /// another chain's genesis hash, another runtime version or fork).
    #[error("bad signature: it does not verify for this chain, runtime version and era")]
    BadProof,
    /// The address is not a plain account id.
    #[error("signer address must be MultiAddress::Id")]
    UnknownAddressForm,
}

impl<Call: Encode + Decode> Encode for UncheckedExtrinsic<Call> {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        let inner = self.encode_inner();
        Compact(inner.len() as u32).encode_to(dest);
        dest.write(&inner);
    }
}

impl<Call: Encode + Decode> Decode for UncheckedExtrinsic<Call> {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        let len = Compact::<u32>::decode(input)?.0 as usize;
        if let Some(remaining) = input.remaining_len()? {
            if remaining < len {
                return Err("extrinsic length prefix exceeds the input".into());
            }
        }
        let mut inner = vec![0u8; len];
        input.read(&mut inner)?;
        let mut body = &inner[..];
        let version = body.read_byte()?;
        if version & 0x7f != EXTRINSIC_FORMAT_VERSION {
            return Err("unsupported extrinsic version".into());
        }
        let signature = if version & 0x80 != 0 {
            Some((
                MultiAddress::decode(&mut body)?,
                MultiSignature::decode(&mut body)?,
                SignedExtra::decode(&mut body)?,
            ))
        } else {
            None
        };
        // Calls can nest (a sudo call wraps another): bound the nesting so crafted bytes
        // cannot exhaust the stack.
        let function = codec::DecodeLimit::decode_with_depth_limit(MAX_CALL_DEPTH, &mut body)?;
        if !body.is_empty() {
            return Err("trailing bytes after the call".into());
        }
        Ok(UncheckedExtrinsic {
            signature,
            function,
        })
    }
}

/// Verifies many sr25519 signatures at once (schnorrkel batch verification, about twice
/// as fast per signature as one by one). Returns `true` only if every one is valid.
pub fn verify_sr25519_batch(items: &[(&[u8], &[u8; 64], &AccountId32)]) -> bool {
    use schnorrkel::{signing_context, PublicKey, Signature};
    let ctx = signing_context(b"substrate");
    let mut transcripts = Vec::with_capacity(items.len());
    let mut signatures = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    for (message, signature, signer) in items {
        let (Ok(sig), Ok(key)) = (
            Signature::from_bytes(&signature[..]),
            PublicKey::from_bytes(signer.as_ref()),
        ) else {
            return false;
        };
        transcripts.push(ctx.bytes(message));
        signatures.push(sig);
        keys.push(key);
    }
    schnorrkel::verify_batch(transcripts, &signatures, &keys, false).is_ok()
}
