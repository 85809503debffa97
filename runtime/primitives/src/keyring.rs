//! The dev keyring: `//Alice` ... `//Ferdie`, derived exactly as Substrate derives them
//! (sr25519 hard derivation from the well-known dev phrase, via sp-core).

use sp_core::{sr25519, Pair as _};

use crate::AccountId32;

/// The six well-known dev accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keyring {
    /// `//Alice`
    Alice,
    /// `//Bob`
    Bob,
    /// `//Charlie`
    Charlie,
    /// `//Dave`
    Dave,
    /// `//Eve`
    Eve,
    /// `//Ferdie`
    Ferdie,
}

impl Keyring {
    /// All dev accounts in their usual order.
    pub const ALL: [Keyring; 6] = [
        Keyring::Alice,
        Keyring::Bob,
        Keyring::Charlie,
        Keyring::Dave,
        Keyring::Eve,
        Keyring::Ferdie,
    ];

    /// The capitalised name ("Alice").
    pub fn name(self) -> &'static str {
        match self {
            Keyring::Alice => "Alice",
            Keyring::Bob => "Bob",
            Keyring::Charlie => "Charlie",
            Keyring::Dave => "Dave",
            Keyring::Eve => "Eve",
            Keyring::Ferdie => "Ferdie",
        }
    }

    /// The secret URI, `//Name`.
    pub fn suri(self) -> String {
        format!("//{}", self.name())
    }

    /// The sr25519 key pair.
    pub fn pair(self) -> sr25519::Pair {
        pair_from_suri(&self.suri()).expect("dev seeds are valid secret URIs")
    }

    /// The sr25519 public key (Aura authority key of dev validators).
    pub fn public(self) -> sr25519::Public {
        use sp_core::Pair as _;
        self.pair().public()
    }

    /// The account id (public key).
    pub fn account(self) -> AccountId32 {
        AccountId32::from(self.pair().public())
    }

    /// The dev session keys (`//Name` as sr25519 for Aura and ed25519 for GRANDPA).
    pub fn session_keys(self) -> crate::SessionKeys {
        crate::SessionKeys::from_suri(&self.suri()).expect("dev seeds are valid secret URIs")
    }

    /// Looks a dev account up by name, case-insensitively.
    pub fn from_name(name: &str) -> Option<Keyring> {
        Keyring::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }
}

/// An sr25519 pair from a secret URI: `//Alice`, a mnemonic with optional derivation
/// path and `///password`, or a `0x` hex seed.
pub fn pair_from_suri(suri: &str) -> Result<sr25519::Pair, String> {
    sr25519::Pair::from_string(suri, None).map_err(|e| format!("invalid secret URI: {e:?}"))
}

/// An ed25519 pair (GRANDPA keys) from a secret URI, in the same forms as
/// [`pair_from_suri`]; only hard derivation (`//`) exists for ed25519.
pub fn ed25519_pair_from_suri(suri: &str) -> Result<sp_core::ed25519::Pair, String> {
    sp_core::ed25519::Pair::from_string(suri, None)
        .map_err(|e| format!("invalid ed25519 secret URI: {e:?}"))
}

/// Deterministic test accounts beyond the six dev ones: `//Arceon//{index}`.
pub fn numbered_pair(index: u32) -> sr25519::Pair {
    pair_from_suri(&format!("//Arceon//{index}")).expect("numbered dev seed is valid")
}
