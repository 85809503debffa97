//! Turning what a player types into keys and accounts.

use arceon_primitives::{keyring, parse_account, sr25519, AccountId32};
use sp_core::Pair as _;

use crate::error::WalletError;

/// Parses an address: SS58 with Arceon's prefix 42, or a `0x` 32-byte hex public key.
pub fn parse_address(text: &str) -> Result<AccountId32, WalletError> {
    let text = text.trim();
    parse_account(text).map_err(|e| WalletError::BadAddress(format!("`{text}`: {e}")))
}

/// The sr25519 key pair of a secret URI: `//Alice`, a mnemonic phrase (with optional
/// `//derivation` and `///password`), or a `0x` hex seed.
pub fn pair_from_suri(suri: &str) -> Result<sr25519::Pair, WalletError> {
    // The secret itself must never end up in an error message or a log.
    keyring::pair_from_suri(suri).map_err(|_| {
        WalletError::BadSuri(
            "expected //Name, a 12 or 24 word mnemonic phrase, or a 0x hex seed".to_string(),
        )
    })
}

/// The account of a key pair.
pub fn account_of(pair: &sr25519::Pair) -> AccountId32 {
    AccountId32::from(pair.public())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arceon_primitives::{to_hex, to_ss58, Keyring};

    #[test]
    fn parses_ss58_and_hex_addresses() {
        let alice = Keyring::Alice.account();
        assert_eq!(parse_address(&to_ss58(&alice)).unwrap(), alice);
        let hex = to_hex(alice.as_ref());
        assert_eq!(parse_address(&hex).unwrap(), alice);
        assert_eq!(parse_address(&format!("  {hex}\n")).unwrap(), alice);
    }

    #[test]
    fn bad_addresses_say_why() {
        let cases = [
            ("0x1234", "32 bytes"),
            ("0xzz", "hex"),
            ("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ", "SS58"),
            ("hello", "SS58"),
            // Polkadot's prefix 0 for Alice.
            (
                "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5",
                "prefix 0",
            ),
        ];
        for (text, expected) in cases {
            match parse_address(text) {
                Err(WalletError::BadAddress(message)) => {
                    assert!(message.contains(expected), "{text}: {message}");
                    assert!(message.contains(text), "{text}: {message}");
                }
                other => panic!("{text}: expected BadAddress, got {other:?}"),
            }
        }
    }

    #[test]
    fn secret_uris() {
        assert_eq!(
            account_of(&pair_from_suri("//Alice").unwrap()),
            Keyring::Alice.account()
        );
        let phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
        assert_eq!(
            account_of(&pair_from_suri(&format!("{phrase}//Bob")).unwrap()),
            Keyring::Bob.account()
        );
        let seed = pair_from_suri(&format!("0x{}", "11".repeat(32))).unwrap();
        assert_ne!(account_of(&seed), Keyring::Alice.account());
        let Err(error) = pair_from_suri("not a valid phrase at all") else {
            panic!("an invalid phrase must be refused");
        };
        assert!(matches!(error, WalletError::BadSuri(_)));
        assert!(
            !error.to_string().contains("valid phrase"),
            "no secret echo"
        );
    }
}
