//! `arceon-wallet`: check balances, send ArcM, send any call through the node's metadata
//! and follow the chain through a node's JSON-RPC. The output format (human lines, or one
//! JSON document per command with `--json`) is stable and documented in the library's
//! crate docs.
//!
//! Invariants: a secret is taken from `--suri`, `--suri-file`, `ARCEON_SURI` or a prompt
//! without echo, and is never printed; `//Alice` is the default signer only on a chain
//! whose `system_chainType` is `Development` or `Local`.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use arceon_primitives::{sr25519, to_ss58, AccountId32, Balance};
use arceon_wallet::meta::ChainMetadata;
use arceon_wallet::status::hash_hex;
use arceon_wallet::world;
use arceon_wallet::{
    account_of, format_arcm, pair_from_suri, parse_address, parse_arcm, parse_extrinsic_hex,
    parse_planck, render_event, TransferOptions, TxStatus, WaitFor, WalletClient, WalletError,
    WatchUpdate, DEFAULT_URL,
};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;

mod game;
use game::{
    build, play, player, stake, AreaCommand, BuildCommand, NpcCommand, PlayCommand, PlayerCommand,
    StakeCommand,
};

/// Hold and send ArcM on an Arceon chain.
#[derive(Debug, Parser)]
#[command(name = "arceon-wallet", version, about)]
struct Cli {
    /// The node's JSON-RPC URL (ws://, or http:// on the same port).
    #[arg(long, global = true, default_value = DEFAULT_URL)]
    url: String,
    /// The signing key: //Name (dev accounts), a mnemonic phrase, or a 0x hex seed. Visible
    /// to other local users in the process list: prefer --suri-file or ARCEON_SURI. Without
    /// any, a terminal is asked for it, and dev/local chains default to //Alice.
    #[arg(long, global = true, value_name = "SECRET")]
    suri: Option<String>,
    /// Read the signing key from this file (its first line).
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "suri")]
    suri_file: Option<PathBuf>,
    /// Print one JSON document per command (errors as JSON on stderr).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show an account's free, reserved and frozen ArcM and its nonce.
    Balance {
        /// SS58 address or 0x public key (default: the --suri account).
        address: Option<String>,
    },
    /// Print an account's next nonce, counting its transactions in the node's pool.
    Nonce {
        /// SS58 address or 0x public key (default: the --suri account).
        address: Option<String>,
    },
    /// Send ArcM from the --suri account.
    Transfer {
        /// Recipient: SS58 address or 0x public key.
        dest: String,
        /// Amount in ArcM (e.g. 1.5), or in plancks with --planck.
        amount: String,
        /// AMOUNT and --tip are integer plancks instead of ArcM.
        #[arg(long)]
        planck: bool,
        /// Fail rather than let the sender drop below the existential deposit.
        #[arg(long)]
        keep_alive: bool,
        /// Priority tip (same unit as AMOUNT).
        #[arg(long, default_value = "0")]
        tip: String,
        /// Valid for about PERIOD blocks from the best block (default: immortal).
        #[arg(long, value_name = "PERIOD")]
        mortal: Option<u64>,
        /// Sign with this nonce instead of asking the node.
        #[arg(long)]
        nonce: Option<u32>,
        /// Submit and print the hash without following the transaction.
        #[arg(long)]
        no_wait: bool,
        /// Sign and check, print the extrinsic as `hex 0x...`, and submit nothing.
        #[arg(long, conflicts_with = "no_wait")]
        sign_only: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Submit a raw signed extrinsic (0x hex) and follow it like `transfer`.
    Submit {
        /// The extrinsic's full encoding, as 0x hex.
        hex: String,
        /// Submit and print the hash without following the transaction.
        #[arg(long)]
        no_wait: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Print new best and finalized headers as they come.
    Watch {
        /// Stop after this many header lines (default: until Ctrl-C).
        #[arg(long)]
        count: Option<u64>,
    },
    /// Print the chain's name, genesis hash, runtime version and heads.
    Info,
    /// Send any call, built from the node's metadata: `tx Balances transfer_keep_alive
    /// '{"dest":"5FHn...","value":"1000000000000"}'`.
    Tx {
        /// The pallet's name (case-insensitive), e.g. Balances.
        pallet: String,
        /// The call's name as in the metadata (snake_case, case-insensitive).
        call: String,
        /// The call's arguments as a JSON object keyed by argument name. Integers as
        /// numbers or decimal strings, accounts as SS58, bytes as 0x hex or text.
        #[arg(default_value = "{}")]
        args: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Play: register a player, move, gather, craft, show a player.
    Player {
        #[command(subcommand)]
        command: PlayerCommand,
    },
    /// Build: place, upgrade or demolish a structure.
    Build {
        #[command(subcommand)]
        command: BuildCommand,
    },
    /// Stake ArcM: bond, unbond, validate, chill, nominate, show.
    Stake {
        #[command(subcommand)]
        command: StakeCommand,
    },
    /// Show the world's areas.
    Area {
        #[command(subcommand)]
        command: AreaCommand,
    },
    /// Show the NPCs of an area.
    Npc {
        #[command(subcommand)]
        command: NpcCommand,
    },
    /// Play through the fast lanes: receipts in milliseconds, then the block and its
    /// finality. The first action joins the lanes (one extrinsic) if needed.
    Play {
        #[command(subcommand)]
        command: PlayCommand,
        /// Stop once the action is confirmed by the lane (do not wait for blocks).
        #[arg(long, global = true)]
        confirmed_only: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

/// Options of every game transaction.
#[derive(Debug, Args)]
struct TxArgs {
    /// Priority tip in ArcM.
    #[arg(long, default_value = "0")]
    tip: String,
    /// Submit and print the hash without following the transaction.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    wait: WaitArgs,
}

#[derive(Debug, Args)]
struct WaitArgs {
    /// How far to follow the transaction.
    #[arg(long, global = true, value_enum, default_value_t = Until::Finalized)]
    until: Until,
    /// Give up after this many seconds.
    #[arg(long, global = true, default_value_t = 120)]
    timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Until {
    /// Until the transaction is in a best-chain block.
    InBlock,
    /// Until that block is finalized.
    Finalized,
}

impl WaitArgs {
    fn wait_for(&self) -> WaitFor {
        match self.until {
            Until::InBlock => WaitFor::InBlock,
            Until::Finalized => WaitFor::Finalized,
        }
    }
}

fn main() -> ExitCode {
    let json = std::env::args().any(|arg| arg == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if json && !matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                eprintln!(
                    "{}",
                    serde_json::json!({ "error": e.kind().to_string(), "message": e.to_string().trim() })
                );
                return ExitCode::from(2);
            }
            e.exit();
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = cli.json;
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if json => {
            let mut doc = serde_json::json!({ "error": format!("{e:#}") });
            if let Some(WalletError::DispatchFailed { block, error }) = e.downcast_ref() {
                doc["block"] = Value::from(block.as_str());
                doc["dispatchError"] = Value::from(error.as_str());
            }
            eprintln!("{doc}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The secret given explicitly: `--suri`, else `--suri-file`, else `ARCEON_SURI`.
fn explicit_secret(cli: &Cli) -> anyhow::Result<Option<String>> {
    if let Some(suri) = &cli.suri {
        return Ok(Some(suri.clone()));
    }
    if let Some(path) = &cli.suri_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --suri-file {}", path.display()))?;
        let secret = text.lines().next().unwrap_or_default().trim().to_string();
        if secret.is_empty() {
            bail!("--suri-file {} is empty", path.display());
        }
        return Ok(Some(secret));
    }
    match std::env::var("ARCEON_SURI") {
        Ok(secret) if !secret.trim().is_empty() => Ok(Some(secret.trim().to_string())),
        _ => Ok(None),
    }
}

/// Asks the terminal for the secret with echo off (restored even on error).
fn prompt_secret() -> anyhow::Result<String> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    let stdin = std::io::stdin();
    eprint!("secret URI (//Name, mnemonic or 0x seed; not echoed): ");
    let saved = tcgetattr(&stdin).context("cannot read the terminal's settings")?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&stdin, OptionalActions::Now, &quiet).context("cannot turn echo off")?;
    let mut line = String::new();
    let read = stdin.read_line(&mut line);
    let restored = tcsetattr(&stdin, OptionalActions::Now, &saved);
    eprintln!();
    read.context("cannot read the secret")?;
    restored.context("cannot restore the terminal's echo")?;
    let secret = line.trim().to_string();
    if secret.is_empty() {
        bail!("no secret entered");
    }
    Ok(secret)
}

/// Chains where the dev accounts are well known and `//Alice` may be the default.
fn is_dev_chain(chain_type: &str) -> bool {
    matches!(chain_type, "Development" | "Local")
}

/// The connection, the secret given (if any) and the output mode of one command.
struct Wallet {
    client: WalletClient,
    secret: Option<String>,
    json: bool,
}

impl Wallet {
    /// The signing key: the explicit secret, else `//Alice` on a dev/local chain, else a
    /// prompt when stdin is a terminal, else [`WalletError::NoSecret`].
    async fn signer(&self) -> anyhow::Result<sr25519::Pair> {
        if let Some(secret) = &self.secret {
            return Ok(pair_from_suri(secret)?);
        }
        let chain_type = self.client.chain_type().await?;
        if is_dev_chain(&chain_type) {
            return Ok(pair_from_suri("//Alice")?);
        }
        if std::io::stdin().is_terminal() {
            return Ok(pair_from_suri(&prompt_secret()?)?);
        }
        Err(WalletError::NoSecret { chain_type }.into())
    }

    /// `address`, else the signer's account (without prompting: showing something needs
    /// no secret).
    async fn account(&self, address: Option<&str>) -> anyhow::Result<AccountId32> {
        if let Some(address) = address {
            return Ok(parse_address(address)?);
        }
        if let Some(secret) = &self.secret {
            return Ok(account_of(&pair_from_suri(secret)?));
        }
        let chain_type = self.client.chain_type().await?;
        if is_dev_chain(&chain_type) {
            return Ok(account_of(&pair_from_suri("//Alice")?));
        }
        bail!("give an ADDRESS: no secret given and the chain is {chain_type} (no //Alice default)")
    }

    /// Prints a human output line (nothing with --json).
    fn say(&self, line: impl std::fmt::Display) {
        if !self.json {
            println!("{line}");
        }
    }

    /// Prints the command's JSON document (only with --json).
    fn doc(&self, value: &Value) {
        if self.json {
            println!("{value}");
        }
    }
}

fn amount(text: &str, planck: bool) -> Result<Balance, WalletError> {
    Ok(if planck {
        parse_planck(text)?
    } else {
        parse_arcm(text)?
    })
}

/// The arguments of `tx`: a JSON object.
fn tx_args(text: &str) -> anyhow::Result<Value> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| WalletError::BadArgument(format!("the call's arguments are not JSON: {e}")))?;
    if !value.is_object() {
        return Err(WalletError::BadArgument(format!(
            "the call's arguments must be a JSON object of named arguments, got {value}"
        ))
        .into());
    }
    Ok(value)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let secret = explicit_secret(&cli)?;
    // Validate what the user typed before dialling the node.
    if let Some(secret) = &secret {
        pair_from_suri(secret)?;
    }
    match &cli.command {
        Command::Balance { address } | Command::Nonce { address } => {
            if let Some(address) = address {
                parse_address(address)?;
            }
        }
        Command::Transfer {
            dest,
            amount: value,
            planck,
            tip,
            ..
        } => {
            parse_address(dest)?;
            amount(value, *planck)?;
            amount(tip, *planck).context("--tip")?;
        }
        Command::Submit { hex, .. } => {
            parse_extrinsic_hex(hex)?;
        }
        Command::Tx { args, tx, .. } => {
            tx_args(args)?;
            parse_arcm(&tx.tip).context("--tip")?;
        }
        Command::Player {
            command: PlayerCommand::Move { x, y, .. },
        }
        | Command::Build {
            command: BuildCommand::Place { x, y, .. },
        } => {
            world::parse_units(x)?;
            world::parse_units(y)?;
        }
        Command::Player {
            command: PlayerCommand::Register { name, .. },
        } => {
            world::register_call(name)?;
        }
        Command::Player {
            command: PlayerCommand::Show {
                address: Some(address),
            },
        } => {
            parse_address(address)?;
        }
        Command::Stake {
            command: StakeCommand::Validate { commission, .. },
        } => {
            world::validate_call(*commission)?;
        }
        Command::Stake {
            command: StakeCommand::Bond { amount, .. } | StakeCommand::Unbond { amount, .. },
        } => {
            parse_arcm(amount)?;
        }
        Command::Stake {
            command: StakeCommand::Nominate { targets, .. },
        } => {
            for target in targets {
                parse_address(target)?;
            }
        }
        Command::Stake {
            command: StakeCommand::SetKeys {
                keys: Some(keys), ..
            },
        } => {
            world::parse_session_keys(keys)?;
        }
        Command::Play {
            command:
                PlayCommand::Move { x, y }
                | PlayCommand::Build { x, y, .. }
                | PlayCommand::Upgrade { x, y }
                | PlayCommand::Demolish { x, y },
            ..
        } => {
            world::parse_units(x)?;
            world::parse_units(y)?;
        }
        _ => {}
    }
    let wallet = Wallet {
        client: WalletClient::connect(&cli.url).await?,
        secret,
        json: cli.json,
    };
    let client = &wallet.client;
    match cli.command {
        Command::Balance { address } => {
            let account = wallet.account(address.as_deref()).await?;
            let info = client.account_info(&account).await?;
            wallet.say(format!("account {}", to_ss58(&account)));
            wallet.say(format!("free {}", format_arcm(info.data.free)));
            wallet.say(format!("reserved {}", format_arcm(info.data.reserved)));
            wallet.say(format!("frozen {}", format_arcm(info.data.frozen)));
            wallet.say(format!("nonce {}", info.nonce));
            wallet.doc(&serde_json::json!({
                "account": to_ss58(&account),
                "free": info.data.free.to_string(),
                "reserved": info.data.reserved.to_string(),
                "frozen": info.data.frozen.to_string(),
                "nonce": info.nonce,
            }));
        }
        Command::Nonce { address } => {
            let account = wallet.account(address.as_deref()).await?;
            let nonce = client.next_nonce(&account).await?;
            wallet.say(nonce);
            wallet.doc(&serde_json::json!({ "account": to_ss58(&account), "nonce": nonce }));
        }
        Command::Transfer {
            dest,
            amount: value,
            planck,
            keep_alive,
            tip,
            mortal,
            nonce,
            no_wait,
            sign_only,
            wait,
        } => {
            let pair = wallet.signer().await?;
            let dest = parse_address(&dest)?;
            let options = TransferOptions {
                keep_alive,
                tip: amount(&tip, planck)?,
                nonce,
                mortal_period: mortal,
                wait_for: wait.wait_for(),
                timeout: Duration::from_secs(wait.timeout),
            };
            let prepared = client
                .prepare_transfer(&pair, &dest, amount(&value, planck)?, &options)
                .await?;
            let follow = Follow {
                no_wait,
                sign_only,
                wait: &wait,
            };
            let doc = submit(&wallet, &prepared.extrinsic, Some(prepared.fee), follow).await?;
            wallet.doc(&doc);
            check(&doc)?;
        }
        Command::Submit { hex, no_wait, wait } => {
            let extrinsic = parse_extrinsic_hex(&hex)?;
            let follow = Follow {
                no_wait,
                sign_only: false,
                wait: &wait,
            };
            let doc = submit(&wallet, &extrinsic, None, follow).await?;
            wallet.doc(&doc);
            check(&doc)?;
        }
        Command::Tx {
            pallet,
            call,
            args,
            tx,
        } => {
            let args = tx_args(&args)?;
            let metadata = client.metadata().await?;
            let call = metadata.encode_call(&pallet, &call, &args)?;
            let doc = send_bytes(&wallet, &call, &tx).await?;
            wallet.doc(&doc);
            check(&doc)?;
        }
        Command::Watch { count } => watch(&wallet, count).await?,
        Command::Player { command } => player(&wallet, command).await?,
        Command::Play {
            command,
            confirmed_only,
            wait,
        } => play(&wallet, command, confirmed_only, wait).await?,
        Command::Build { command } => build(&wallet, command).await?,
        Command::Stake { command } => stake(&wallet, command).await?,
        Command::Area { command } => match command {
            AreaCommand::List => print_json(&client.world_query("arceon_areas", vec![]).await?),
            AreaCommand::Show { id } => print_json(
                &client
                    .world_query("arceon_area", vec![Value::from(id)])
                    .await?,
            ),
            AreaCommand::Split { id, tx } => send(&wallet, world::split_call(id), tx).await?,
            AreaCommand::Merge { parent, tx } => {
                send(&wallet, world::merge_call(parent), tx).await?
            }
        },
        Command::Npc {
            command: NpcCommand::List { area },
        } => print_json(
            &client
                .world_query("arceon_npcsInArea", vec![Value::from(area)])
                .await?,
        ),
        Command::Info => {
            let chain = client.chain_name().await?;
            let chain_type = client.chain_type().await?;
            let genesis = hash_hex(&client.genesis_hash().await?);
            let version = client.runtime_version().await?;
            let best = client.best_header().await?;
            let finalized = hash_hex(&client.finalized_head().await?);
            wallet.say(format!("chain {chain}"));
            wallet.say(format!("genesis {genesis}"));
            wallet.say(format!(
                "runtime {} {}",
                version.spec_name, version.spec_version
            ));
            wallet.say(format!(
                "transactionVersion {}",
                version.transaction_version
            ));
            wallet.say(format!("best #{} {}", best.number, hash_hex(&best.hash())));
            wallet.say(format!("finalized {finalized}"));
            wallet.doc(&serde_json::json!({
                "chain": chain,
                "chainType": chain_type,
                "genesis": genesis,
                "specName": version.spec_name,
                "specVersion": version.spec_version,
                "transactionVersion": version.transaction_version,
                "best": { "number": best.number, "hash": hash_hex(&best.hash()) },
                "finalized": finalized,
            }));
        }
    }
    Ok(())
}

/// Prints a JSON answer of the node as the command's output (human and --json alike).
fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// How far to take a signed extrinsic.
#[derive(Clone, Copy)]
struct Follow<'a> {
    no_wait: bool,
    sign_only: bool,
    wait: &'a WaitArgs,
}

/// Prints the extrinsic's hash and fee, then submits it and follows it as asked. Returns
/// the command's JSON document: `hash`, `fee`, and when followed `block`, `finalized`,
/// `events`, `success` and `error`.
async fn submit(
    wallet: &Wallet,
    extrinsic: &[u8],
    fee: Option<Balance>,
    follow: Follow<'_>,
) -> anyhow::Result<Value> {
    let client = &wallet.client;
    let hash = arceon_runtime::extrinsic_hash(extrinsic);
    wallet.say(format!("extrinsic {}", hash_hex(&hash)));
    let mut doc = serde_json::json!({ "hash": hash_hex(&hash) });
    if let Some(fee) = fee {
        wallet.say(format!("fee {}", format_arcm(fee)));
        doc["fee"] = Value::from(fee.to_string());
    }
    let hex = arceon_primitives::to_hex(extrinsic);
    if follow.sign_only {
        wallet.say(format!("hex {hex}"));
        doc["hex"] = Value::from(hex);
        return Ok(doc);
    }
    if follow.no_wait {
        client.submit(&hex).await?;
        doc["submitted"] = Value::Bool(true);
        return Ok(doc);
    }
    let metadata = client.metadata().await?;
    let json = wallet.json;
    let report = client
        .watch(
            extrinsic,
            follow.wait.wait_for(),
            Duration::from_secs(follow.wait.timeout),
            |update| {
                if !json {
                    print_update(metadata, update)
                }
            },
        )
        .await?;
    doc["submitted"] = Value::Bool(true);
    doc["block"] = Value::from(hash_hex(&report.in_block));
    doc["finalized"] = report
        .finalized
        .map_or(Value::Null, |block| Value::from(hash_hex(&block)));
    doc["events"] = Value::Array(report.events.iter().map(|e| e.to_json()).collect());
    doc["success"] = Value::Bool(report.success);
    doc["error"] = report.error.clone().map_or(Value::Null, Value::from);
    Ok(doc)
}

/// Turns a followed extrinsic whose call failed into the process's error.
fn check(doc: &Value) -> Result<(), WalletError> {
    if doc
        .get("success")
        .is_none_or(|ok| ok != &Value::Bool(false))
    {
        return Ok(());
    }
    Err(WalletError::DispatchFailed {
        block: doc["block"].as_str().unwrap_or_default().to_string(),
        error: doc["error"]
            .as_str()
            .unwrap_or("no ExtrinsicSuccess event")
            .to_string(),
    })
}

/// Signs an encoded call with the wallet's signer, submits it and follows it like
/// `transfer`; returns the JSON document.
async fn send_bytes(wallet: &Wallet, call: &[u8], tx: &TxArgs) -> anyhow::Result<Value> {
    let pair = wallet.signer().await?;
    let tip = parse_arcm(&tx.tip).context("--tip")?;
    let prepared = wallet
        .client
        .prepare_call_bytes(&pair, call, tip, None, None)
        .await?;
    let follow = Follow {
        no_wait: tx.no_wait,
        sign_only: false,
        wait: &tx.wait,
    };
    submit(wallet, &prepared.extrinsic, Some(prepared.fee), follow).await
}

/// Signs `call`, submits it, follows it like `transfer` and prints the JSON document
/// with --json; fails when the call failed.
async fn send(wallet: &Wallet, call: arceon_runtime::Call, tx: TxArgs) -> anyhow::Result<()> {
    use codec::Encode as _;
    let doc = send_bytes(wallet, &call.encode(), &tx).await?;
    wallet.doc(&doc);
    check(&doc)?;
    Ok(())
}

/// Prints one line per status, and the events after `inBlock`.
fn print_update(metadata: &ChainMetadata, update: WatchUpdate) {
    match update {
        // The inclusion line is printed with its events, once they are read.
        WatchUpdate::Status(TxStatus::InBlock(_)) => {}
        WatchUpdate::Status(status) => println!("{status}"),
        WatchUpdate::Included(inclusion) => {
            println!("inBlock {}", hash_hex(&inclusion.block));
            for event in &inclusion.events {
                println!("  {}", render_event(metadata, event));
            }
        }
    }
}

async fn watch(wallet: &Wallet, count: Option<u64>) -> anyhow::Result<()> {
    let client = &wallet.client;
    let mut best = client.subscribe_new_heads().await?;
    let mut finalized = client.subscribe_finalized_heads().await?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut printed = 0u64;
    let show = |header: &arceon_primitives::Header, is_final: bool| {
        let hash = hash_hex(&header.hash());
        if wallet.json {
            println!(
                "{}",
                serde_json::json!({ "number": header.number, "hash": hash, "finalized": is_final })
            );
        } else if is_final {
            println!("#{} {hash} finalized", header.number);
        } else {
            println!("#{} {hash}", header.number);
        }
    };
    while count.is_none_or(|max| printed < max) {
        tokio::select! {
            header = best.next() => match header {
                Some(header) => show(&header?, false),
                None => bail!("the node closed the new-heads subscription (stopped or connection lost)"),
            },
            header = finalized.next() => match header {
                Some(header) => show(&header?, true),
                None => bail!("the node closed the finalized-heads subscription (stopped or connection lost)"),
            },
            _ = &mut ctrl_c => break,
        }
        printed += 1;
    }
    Ok(())
}
