//! `arceon-node key`: account and node keys, Substrate's `key` subcommand set: generate,
//! inspect, sign, verify, insert into the keystore, and node keys. Every command can print
//! JSON (`--output-type json`) for scripts. Secrets come from `--suri`, `--suri-file` or,
//! when neither is given, standard input (a prompt without echo on a terminal), so they
//! need not appear in the shell's history or the process list.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::Context;
use arceon_client::keystore::Keystore;
use arceon_primitives::{from_hex, keyring::pair_from_suri, to_hex, to_ss58, AccountId32};
use serde_json::json;
use sp_core::crypto::Ss58Codec;
use sp_core::{sr25519, Pair as _};

use crate::command::RunArgs;

/// How `key` commands print.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputType {
    /// Aligned lines for people.
    #[default]
    Text,
    /// One JSON object.
    Json,
}

/// Where a secret URI comes from.
#[derive(Debug, clap::Args)]
pub struct SecretArgs {
    /// The secret URI (`//Alice`, a mnemonic, a 0x seed). Prefer `--suri-file` or standard
    /// input: arguments are visible to other users of the machine.
    #[arg(long)]
    pub suri: Option<String>,
    /// Read the secret URI from this file (its first line).
    #[arg(long, conflicts_with = "suri")]
    pub suri_file: Option<PathBuf>,
}

impl SecretArgs {
    /// The secret URI from the flag, the file, or standard input.
    fn read(&self) -> anyhow::Result<String> {
        if let Some(suri) = &self.suri {
            return Ok(suri.clone());
        }
        let text = match &self.suri_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the secret from {}", path.display()))?,
            None => {
                let stdin = std::io::stdin();
                if stdin.is_terminal() {
                    rpassword::prompt_password("Secret URI: ")
                        .context("reading the secret from the terminal")?
                } else {
                    let mut text = String::new();
                    stdin
                        .lock()
                        .take(64 * 1024)
                        .read_to_string(&mut text)
                        .context("reading the secret from standard input")?;
                    text
                }
            }
        };
        let suri = text.lines().next().unwrap_or_default().trim().to_string();
        anyhow::ensure!(!suri.is_empty(), "no secret URI given (the input is empty)");
        Ok(suri)
    }

    fn pair(&self) -> anyhow::Result<sr25519::Pair> {
        pair_from_suri(&self.read()?).map_err(|e| anyhow::anyhow!("invalid secret URI: {e}"))
    }
}

/// The message to sign or verify.
#[derive(Debug, clap::Args)]
pub struct MessageArgs {
    /// The message (standard input if omitted).
    #[arg(long)]
    pub message: Option<String>,
    /// The message is 0x hex, not text.
    #[arg(long)]
    pub hex: bool,
}

impl MessageArgs {
    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        let text = match &self.message {
            Some(message) => message.clone(),
            None => {
                let mut text = String::new();
                std::io::stdin()
                    .lock()
                    .take(16 * 1024 * 1024)
                    .read_to_string(&mut text)
                    .context("reading the message from standard input")?;
                text
            }
        };
        if self.hex {
            from_hex(text.trim()).map_err(|e| anyhow::anyhow!("the message is not hex: {e}"))
        } else {
            Ok(text.into_bytes())
        }
    }
}

/// `key` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Generate a new sr25519 account key and print its phrase, seed and address.
    Generate {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        output_type: OutputType,
    },
    /// Show the public key and address of a secret URI (or of an SS58 address).
    Inspect {
        /// `//Alice`, a mnemonic, a 0x seed, or an SS58 address.
        uri: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        output_type: OutputType,
    },
    /// Sign a message with an sr25519 key; prints the 64-byte signature as hex.
    Sign {
        #[command(flatten)]
        secret: SecretArgs,
        #[command(flatten)]
        message: MessageArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        output_type: OutputType,
    },
    /// Check an sr25519 signature; fails (exit code 1) when it does not verify.
    Verify {
        /// The signature, 0x hex.
        signature: String,
        /// The signer: SS58 address or 0x public key.
        public: String,
        #[command(flatten)]
        message: MessageArgs,
    },
    /// Put a key into the node's keystore.
    Insert {
        #[command(flatten)]
        secret: SecretArgs,
        /// The key type: `aura` (sr25519) or `gran` (GRANDPA, ed25519).
        #[arg(long, default_value = "aura")]
        key_type: String,
    },
    /// Generate a libp2p node key (ed25519); prints the peer id on stderr.
    GenerateNodeKey {
        /// Write the secret here instead of stdout.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Print the peer id of a node key (hex secret or 32 raw bytes, from `--file` or stdin).
    InspectNodeKey {
        /// Read the key from this file instead of stdin.
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

fn print_account(output: OutputType, heading: &str, public: &[u8; 32], extra: serde_json::Value) {
    let account = AccountId32::new(*public);
    match output {
        OutputType::Json => {
            let mut value = json!({
                "publicKey": to_hex(public),
                "accountId": to_hex(public),
                "ss58Address": to_ss58(&account),
            });
            if let (Some(object), serde_json::Value::Object(more)) = (value.as_object_mut(), extra)
            {
                object.extend(more);
            }
            println!("{value}");
        }
        OutputType::Text => {
            println!("{heading}");
            if let serde_json::Value::Object(more) = &extra {
                if let Some(phrase) = more.get("secretPhrase").and_then(|v| v.as_str()) {
                    println!("  Secret phrase:     {phrase}");
                }
                if let Some(seed) = more.get("secretSeed").and_then(|v| v.as_str()) {
                    println!("  Secret seed:       {seed}");
                }
            }
            println!("  Public key (hex):  {}", to_hex(public));
            println!("  SS58 Address:      {}", to_ss58(&account));
        }
    }
}

fn parse_public(text: &str) -> anyhow::Result<[u8; 32]> {
    if let Ok(account) = AccountId32::from_ss58check(text) {
        return Ok(account.into());
    }
    let bytes = from_hex(text)
        .map_err(|_| anyhow::anyhow!("'{text}' is neither an SS58 address nor hex"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| anyhow::anyhow!("a public key is 32 bytes, '{text}' has {}", bytes.len()))
}

/// Runs a `key` subcommand.
pub fn run(run: &RunArgs, command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Generate { output_type } => {
            let (pair, phrase, seed) = sr25519::Pair::generate_with_phrase(None);
            print_account(
                output_type,
                "Secret phrase generated:",
                &pair.public().0,
                json!({ "secretPhrase": phrase, "secretSeed": to_hex(seed.as_ref()) }),
            );
            Ok(())
        }
        KeyCommand::Inspect { uri, output_type } => {
            if let Ok(account) = AccountId32::from_ss58check(&uri) {
                let public: [u8; 32] = account.into();
                print_account(
                    output_type,
                    &format!("Public Key URI `{uri}` is account:"),
                    &public,
                    json!({}),
                );
                return Ok(());
            }
            let pair =
                pair_from_suri(&uri).map_err(|e| anyhow::anyhow!("invalid secret URI: {e}"))?;
            print_account(
                output_type,
                &format!("Secret Key URI `{uri}` is account:"),
                &pair.public().0,
                json!({}),
            );
            Ok(())
        }
        KeyCommand::Sign {
            secret,
            message,
            output_type,
        } => {
            let pair = secret.pair()?;
            let signature = pair.sign(&message.bytes()?);
            match output_type {
                OutputType::Text => println!("{}", to_hex(signature.as_ref())),
                OutputType::Json => println!(
                    "{}",
                    json!({
                        "signature": to_hex(signature.as_ref()),
                        "publicKey": to_hex(&pair.public().0),
                        "ss58Address": to_ss58(&pair.public().into()),
                    })
                ),
            }
            Ok(())
        }
        KeyCommand::Verify {
            signature,
            public,
            message,
        } => {
            let bytes =
                from_hex(&signature).map_err(|_| anyhow::anyhow!("the signature is not hex"))?;
            let raw = <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| {
                anyhow::anyhow!("an sr25519 signature is 64 bytes, got {}", bytes.len())
            })?;
            let public = sr25519::Public::from_raw(parse_public(&public)?);
            let ok = sr25519::Pair::verify(
                &sr25519::Signature::from_raw(raw),
                message.bytes()?,
                &public,
            );
            anyhow::ensure!(ok, "the signature does not verify");
            println!("Signature verifies correctly.");
            Ok(())
        }
        KeyCommand::Insert { secret, key_type } => {
            let suri = secret.read()?;
            let store = Keystore::open(&crate::chain_ops::chain_dir(run)?.join("keystore"))?;
            let public = store.insert(&key_type, &suri, None)?;
            let public = <[u8; 32]>::try_from(public.as_slice())
                .map_err(|_| anyhow::anyhow!("a {key_type} public key is not 32 bytes"))?;
            eprintln!(
                "inserted {key_type} key 0x{} ({})",
                hex::encode(public),
                to_ss58(&public.into())
            );
            Ok(())
        }
        KeyCommand::GenerateNodeKey { file } => {
            let keypair = arceon_network::identity::Keypair::generate_ed25519();
            let secret = hex::encode(arceon_network::ed25519_secret(&keypair)?);
            match &file {
                Some(path) => std::fs::write(path, &secret)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => println!("{secret}"),
            }
            eprintln!("{}", keypair.public().to_peer_id());
            Ok(())
        }
        KeyCommand::InspectNodeKey { file } => {
            let bytes = match &file {
                Some(path) => {
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
                }
                None => {
                    let mut bytes = Vec::new();
                    std::io::stdin()
                        .lock()
                        .take(64 * 1024)
                        .read_to_end(&mut bytes)?;
                    bytes
                }
            };
            let keypair = arceon_network::parse_node_key(&bytes)
                .map_err(|e| anyhow::anyhow!("invalid node key: {e}"))?;
            println!("{}", keypair.public().to_peer_id());
            Ok(())
        }
    }
}
