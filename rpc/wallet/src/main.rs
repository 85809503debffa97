//! `arceon-wallet`: check balances, send ArcM and follow the chain through a node's
//! JSON-RPC. The output format is stable and documented in the library's crate docs.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use arceon_primitives::{to_ss58, AccountId32, Balance};
use arceon_wallet::status::hash_hex;
use arceon_wallet::world;
use arceon_wallet::{
    account_of, format_arcm, pair_from_suri, parse_address, parse_arcm, parse_extrinsic_hex,
    parse_planck, render_event, TransferOptions, TransferReport, TxStatus, WaitFor, WalletClient,
    WalletError, WatchUpdate, DEFAULT_URL,
};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;

/// Hold and send ArcM on an Arceon chain.
#[derive(Debug, Parser)]
#[command(name = "arceon-wallet", version, about)]
struct Cli {
    /// The node's JSON-RPC URL (ws://, or http:// on the same port).
    #[arg(long, global = true, default_value = DEFAULT_URL)]
    url: String,
    /// The signing key: //Name (dev accounts), a mnemonic phrase, or a 0x hex seed.
    #[arg(
        long,
        global = true,
        default_value = "//Alice",
        hide_default_value = false
    )]
    suri: String,
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

#[derive(Debug, Subcommand)]
enum PlayCommand {
    /// Join the fast lanes (from then on world extrinsics of this player are refused).
    Join,
    /// Walk to (X, Y), in world units (10 units per second of lane time).
    Move {
        /// East-west coordinate, world units (e.g. 12.5).
        #[arg(allow_hyphen_values = true)]
        x: String,
        /// North-south coordinate, world units.
        #[arg(allow_hyphen_values = true)]
        y: String,
    },
    /// Gather a resource of the area the player stands in.
    Gather {
        /// Resource id.
        resource: u32,
    },
    /// Craft a recipe from the inventory.
    Craft {
        /// Recipe id.
        recipe: u32,
    },
    /// Build a structure of KIND with its south-west corner at (X, Y), in world units
    /// (its claim must lie on grid cells wholly inside the area).
    Build {
        /// Structure kind id.
        kind: u32,
        /// East-west coordinate of the corner, world units.
        #[arg(allow_hyphen_values = true)]
        x: String,
        /// North-south coordinate of the corner, world units.
        #[arg(allow_hyphen_values = true)]
        y: String,
    },
    /// Upgrade your structure covering (X, Y), in world units.
    Upgrade {
        /// East-west coordinate of a point of the structure, world units.
        #[arg(allow_hyphen_values = true)]
        x: String,
        /// North-south coordinate of a point of the structure, world units.
        #[arg(allow_hyphen_values = true)]
        y: String,
    },
    /// Demolish your structure covering (X, Y), in world units (half of what it cost
    /// comes back).
    Demolish {
        /// East-west coordinate of a point of the structure, world units.
        #[arg(allow_hyphen_values = true)]
        x: String,
        /// North-south coordinate of a point of the structure, world units.
        #[arg(allow_hyphen_values = true)]
        y: String,
    },
}

#[derive(Debug, Subcommand)]
enum PlayerCommand {
    /// Register the --suri account as a player named NAME; it spawns in the starting area.
    Register {
        /// The player's name (1 to 32 bytes, unique).
        name: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Walk to (X, Y), in world units (up to 10 units per block since the last move).
    Move {
        /// East-west coordinate, world units (e.g. 12.5).
        #[arg(allow_hyphen_values = true)]
        x: String,
        /// North-south coordinate, world units.
        #[arg(allow_hyphen_values = true)]
        y: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Gather a resource of the area the player stands in.
    Gather {
        /// Resource id (see `area show`).
        resource: u32,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Craft a recipe from the inventory.
    Craft {
        /// Recipe id.
        recipe: u32,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Show a player (default: the --suri account) as JSON.
    Show {
        /// SS58 address or 0x public key.
        address: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum BuildCommand {
    /// Place a structure of KIND with its south-west corner at (X, Y) in AREA.
    Place {
        /// The area the player stands in.
        area: u32,
        /// East-west coordinate, world units.
        #[arg(allow_hyphen_values = true)]
        x: String,
        /// North-south coordinate, world units.
        #[arg(allow_hyphen_values = true)]
        y: String,
        /// Structure kind id.
        kind: u32,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Upgrade one of your structures.
    Upgrade {
        /// Structure id.
        id: u64,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Demolish one of your structures (half of what it cost comes back).
    Demolish {
        /// Structure id.
        id: u64,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// List the structures of an area as JSON.
    List {
        /// Area id.
        area: u32,
    },
}

#[derive(Debug, Subcommand)]
enum StakeCommand {
    /// Bond AMOUNT ArcM of the --suri account (or add to an existing bond).
    Bond {
        /// Amount in ArcM.
        amount: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Start unbonding AMOUNT ArcM (withdrawable after the bonding duration).
    Unbond {
        /// Amount in ArcM.
        amount: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Withdraw every unbonded chunk that has matured.
    Withdraw {
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Declare the intent to validate from the next era.
    Validate {
        /// Commission in percent.
        #[arg(long, default_value = "0")]
        commission: f64,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Register the validator's session keys (effective from the next era). KEYS is what
    /// `author_rotateKeys` returned; without it the node at --url (the validator's own,
    /// with unsafe RPC on loopback) creates fresh keys first. Signed by the stash: its
    /// secret stays with the wallet, the node holds only the session keys.
    SetKeys {
        /// 0x-prefixed hex: the Aura sr25519 key then the GRANDPA ed25519 key.
        keys: Option<String>,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Stop validating or nominating from the next era.
    Chill {
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Back validators with the bonded stake.
    Nominate {
        /// Validators' SS58 addresses.
        #[arg(required = true)]
        targets: Vec<String>,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Show the validators (and, with an address, that account's reputation) as JSON.
    Show {
        /// SS58 address or 0x public key.
        address: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AreaCommand {
    /// List every area as JSON.
    List,
    /// Show one area, its committee and resources as JSON.
    Show {
        /// Area id.
        id: u32,
    },
    /// Split an area into its quadrants (as root, through sudo; with fast lanes the
    /// split is made once the area's lane has ended).
    Split {
        /// Area id.
        id: u32,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Merge a split area's quadrants back into it (as root, through sudo).
    Merge {
        /// The split area's id.
        parent: u32,
        #[command(flatten)]
        tx: TxArgs,
    },
}

#[derive(Debug, Subcommand)]
enum NpcCommand {
    /// List the NPCs of an area as JSON.
    List {
        /// Area id.
        area: u32,
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
    let cli = Cli::parse();
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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn signer_account(suri: &str) -> anyhow::Result<AccountId32> {
    Ok(account_of(&pair_from_suri(suri)?))
}

fn target_account(address: Option<&str>, suri: &str) -> anyhow::Result<AccountId32> {
    match address {
        Some(address) => Ok(parse_address(address)?),
        None => signer_account(suri),
    }
}

fn amount(text: &str, planck: bool) -> Result<Balance, WalletError> {
    Ok(if planck {
        parse_planck(text)?
    } else {
        parse_arcm(text)?
    })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Validate what the user typed before dialling the node.
    match &cli.command {
        Command::Balance { address } | Command::Nonce { address } => {
            target_account(address.as_deref(), &cli.suri)?;
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
            pair_from_suri(&cli.suri)?;
        }
        Command::Submit { hex, .. } => {
            parse_extrinsic_hex(hex)?;
        }
        Command::Watch { .. } | Command::Info => {}
        Command::Stake {
            command: StakeCommand::SetKeys {
                keys: Some(keys), ..
            },
        } => {
            world::parse_session_keys(keys)?;
        }
        Command::Play { command, .. } => {
            pair_from_suri(&cli.suri)?;
            if let PlayCommand::Move { x, y }
            | PlayCommand::Build { x, y, .. }
            | PlayCommand::Upgrade { x, y }
            | PlayCommand::Demolish { x, y } = command
            {
                world::parse_units(x)?;
                world::parse_units(y)?;
            }
        }
        Command::Player { .. }
        | Command::Build { .. }
        | Command::Stake { .. }
        | Command::Area { .. }
        | Command::Npc { .. } => {}
    }
    let client = WalletClient::connect(&cli.url).await?;
    match cli.command {
        Command::Balance { address } => {
            let account = target_account(address.as_deref(), &cli.suri)?;
            let info = client.account_info(&account).await?;
            println!("account {}", to_ss58(&account));
            println!("free {}", format_arcm(info.data.free));
            println!("reserved {}", format_arcm(info.data.reserved));
            println!("frozen {}", format_arcm(info.data.frozen));
            println!("nonce {}", info.nonce);
        }
        Command::Nonce { address } => {
            let account = target_account(address.as_deref(), &cli.suri)?;
            println!("{}", client.next_nonce(&account).await?);
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
            let pair = pair_from_suri(&cli.suri)?;
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
            println!("extrinsic {}", hash_hex(&prepared.hash));
            println!("fee {}", format_arcm(prepared.fee));
            if sign_only {
                println!("hex {}", arceon_primitives::to_hex(&prepared.extrinsic));
                return Ok(());
            }
            if no_wait {
                client
                    .submit(&arceon_primitives::to_hex(&prepared.extrinsic))
                    .await?;
                return Ok(());
            }
            let report = client
                .watch(
                    &prepared.extrinsic,
                    options.wait_for,
                    options.timeout,
                    print_update,
                )
                .await?;
            finish(&report)?;
        }
        Command::Submit { hex, no_wait, wait } => {
            let extrinsic = parse_extrinsic_hex(&hex)?;
            println!(
                "extrinsic {}",
                hash_hex(&arceon_runtime::extrinsic_hash(&extrinsic))
            );
            if no_wait {
                client
                    .submit(&arceon_primitives::to_hex(&extrinsic))
                    .await?;
                return Ok(());
            }
            let report = client
                .watch(
                    &extrinsic,
                    wait.wait_for(),
                    Duration::from_secs(wait.timeout),
                    print_update,
                )
                .await?;
            finish(&report)?;
        }
        Command::Watch { count } => watch(&client, count).await?,
        Command::Player { command } => player(&client, &cli.suri, command).await?,
        Command::Play {
            command,
            confirmed_only,
            wait,
        } => play(&client, &cli.suri, command, confirmed_only, wait).await?,
        Command::Build { command } => build(&client, &cli.suri, command).await?,
        Command::Stake { command } => stake(&client, &cli.suri, command).await?,
        Command::Area { command } => match command {
            AreaCommand::List => print_json(&client.world_query("arceon_areas", vec![]).await?),
            AreaCommand::Show { id } => print_json(
                &client
                    .world_query("arceon_area", vec![Value::from(id)])
                    .await?,
            ),
            AreaCommand::Split { id, tx } => {
                send(&client, &cli.suri, world::split_call(id), tx).await?
            }
            AreaCommand::Merge { parent, tx } => {
                send(&client, &cli.suri, world::merge_call(parent), tx).await?
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
            println!("chain {}", client.chain_name().await?);
            println!("genesis {}", hash_hex(&client.genesis_hash().await?));
            let version = client.runtime_version().await?;
            println!("runtime {} {}", version.spec_name, version.spec_version);
            println!("transactionVersion {}", version.transaction_version);
            let best = client.best_header().await?;
            println!("best #{} {}", best.number, hash_hex(&best.hash()));
            println!("finalized {}", hash_hex(&client.finalized_head().await?));
        }
    }
    Ok(())
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// Signs `call` with the --suri key, submits it and follows it like `transfer`.
async fn send(
    client: &WalletClient,
    suri: &str,
    call: arceon_runtime::Call,
    tx: TxArgs,
) -> anyhow::Result<()> {
    let pair = pair_from_suri(suri)?;
    let tip = parse_arcm(&tx.tip).context("--tip")?;
    let prepared = client.prepare_call(&pair, call, tip, None, None).await?;
    println!("extrinsic {}", hash_hex(&prepared.hash));
    println!("fee {}", format_arcm(prepared.fee));
    let hex = arceon_primitives::to_hex(&prepared.extrinsic);
    if tx.no_wait {
        client.submit(&hex).await?;
        return Ok(());
    }
    let report = client
        .watch(
            &prepared.extrinsic,
            tx.wait.wait_for(),
            Duration::from_secs(tx.wait.timeout),
            print_update,
        )
        .await?;
    finish(&report)?;
    Ok(())
}

async fn player(client: &WalletClient, suri: &str, command: PlayerCommand) -> anyhow::Result<()> {
    match command {
        PlayerCommand::Register { name, tx } => {
            send(client, suri, world::register_call(&name)?, tx).await
        }
        PlayerCommand::Move { x, y, tx } => {
            let call = world::move_call(world::parse_units(&x)?, world::parse_units(&y)?);
            send(client, suri, call, tx).await
        }
        PlayerCommand::Gather { resource, tx } => {
            send(client, suri, world::gather_call(resource), tx).await
        }
        PlayerCommand::Craft { recipe, tx } => {
            send(client, suri, world::craft_call(recipe), tx).await
        }
        PlayerCommand::Show { address } => {
            let who = target_account(address.as_deref(), suri)?;
            let value = client.player(&who).await?;
            if value.is_null() {
                bail!("{} has no player", to_ss58(&who));
            }
            print_json(&value);
            Ok(())
        }
    }
}

/// `play`: joins the lanes if needed, signs the lane action, and follows it from the
/// lane's receipt (checked against the committee here) to its block and finality.
async fn play(
    client: &WalletClient,
    suri: &str,
    command: PlayCommand,
    confirmed_only: bool,
    wait: WaitArgs,
) -> anyhow::Result<()> {
    use arceon_pallet_fastlane::ActionKind;
    use arceon_wallet::lane;
    let pair = pair_from_suri(suri)?;
    let who = account_of(&pair);
    let Some(mut player) = client.lane_player(&who).await? else {
        bail!(
            "{} has no player: register one first (`arceon-wallet player register NAME`)",
            to_ss58(&who)
        );
    };
    if !player.joined {
        println!("joining the fast lanes");
        let tx = TxArgs {
            tip: "0".into(),
            no_wait: false,
            wait: WaitArgs {
                until: Until::InBlock,
                timeout: wait.timeout,
            },
        };
        send(client, suri, world::join_lanes_call(), tx).await?;
        player = client
            .lane_player(&who)
            .await?
            .context("the player vanished")?;
        if !player.joined {
            bail!("the join is in a block but the node does not show the player joined yet");
        }
    }
    let kind = match command {
        PlayCommand::Join => {
            println!("{} plays through the fast lanes", to_ss58(&who));
            return Ok(());
        }
        PlayCommand::Move { x, y } => ActionKind::Move {
            x: world::parse_units(&x)?,
            y: world::parse_units(&y)?,
        },
        PlayCommand::Gather { resource } => ActionKind::Gather { resource },
        PlayCommand::Craft { recipe } => ActionKind::Craft { recipe },
        PlayCommand::Build { kind, x, y } => ActionKind::Place {
            kind,
            x: world::parse_units(&x)?,
            y: world::parse_units(&y)?,
        },
        PlayCommand::Upgrade { x, y } => ActionKind::Upgrade {
            x: world::parse_units(&x)?,
            y: world::parse_units(&y)?,
        },
        PlayCommand::Demolish { x, y } => ActionKind::Demolish {
            x: world::parse_units(&x)?,
            y: world::parse_units(&y)?,
        },
    };
    let (version, keys) = client.lane_committee(player.area).await?;
    let action = lane::sign_action(&pair, &player, kind);
    println!(
        "action {} (area {}, lane nonce {})",
        hash_hex(&action.hash()),
        player.area,
        player.nonce
    );
    let mut updates = client.watch_action(&action).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.timeout);
    loop {
        let update = match tokio::time::timeout_at(deadline, updates.next()).await {
            Err(_) => bail!("no final status within {} s", wait.timeout),
            Ok(None) => bail!("the node closed the subscription"),
            Ok(Some(Err(e))) => bail!("bad update from the node: {e}"),
            Ok(Some(Ok(update))) => update,
        };
        if let Some(confirmed) = update.get("confirmed") {
            let checked = lane::check_receipt(confirmed, &action, version, &keys)
                .context("the lane's receipt does not check out")?;
            let latency = confirmed
                .get("latencyMs")
                .and_then(Value::as_f64)
                .unwrap_or_default();
            let signers: Vec<String> = checked
                .signers
                .iter()
                .map(|i| {
                    keys.get(usize::from(*i))
                        .map(|k| to_ss58(&AccountId32::new(*k)))
                        .unwrap_or_default()
                })
                .collect();
            let header = &checked.receipt.header;
            println!(
                "confirmed in {latency:.1} ms: area {} height {} index {} batch {}",
                header.area,
                header.height,
                checked.receipt.index,
                hash_hex(&header.hash())
            );
            println!(
                "signed by {} of {} members (quorum {}): {}",
                signers.len(),
                checked.members,
                arceon_pallet_fastlane::quorum(checked.members),
                signers.join(", ")
            );
            println!(
                "outcome {}",
                lane::describe_outcome(&checked.receipt.outcome)
            );
            if confirmed_only {
                return Ok(());
            }
        } else if let Some(rejected) = update.get("rejected") {
            let error = rejected
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            bail!("rejected: {error}");
        } else if let Some(hash) = update.get("inBlock").and_then(Value::as_str) {
            println!("inBlock {hash}");
            if wait.until == Until::InBlock {
                return Ok(());
            }
        } else if let Some(hash) = update.get("finalized").and_then(Value::as_str) {
            println!("finalized {hash}");
            return Ok(());
        } else if let Some(reason) = update.get("dropped") {
            bail!("dropped: {reason}");
        }
    }
}

async fn build(client: &WalletClient, suri: &str, command: BuildCommand) -> anyhow::Result<()> {
    match command {
        BuildCommand::Place {
            area,
            x,
            y,
            kind,
            tx,
        } => {
            let call =
                world::place_call(area, world::parse_units(&x)?, world::parse_units(&y)?, kind);
            send(client, suri, call, tx).await
        }
        BuildCommand::Upgrade { id, tx } => send(client, suri, world::upgrade_call(id), tx).await,
        BuildCommand::Demolish { id, tx } => send(client, suri, world::demolish_call(id), tx).await,
        BuildCommand::List { area } => {
            print_json(
                &client
                    .world_query("arceon_structuresInArea", vec![Value::from(area)])
                    .await?,
            );
            Ok(())
        }
    }
}

async fn stake(client: &WalletClient, suri: &str, command: StakeCommand) -> anyhow::Result<()> {
    match command {
        StakeCommand::Bond { amount, tx } => {
            let value = parse_arcm(&amount)?;
            let who = signer_account(suri)?;
            let bonded = client
                .world_query("arceon_stakingLedger", vec![Value::from(to_ss58(&who))])
                .await?;
            let call = if bonded.is_null() {
                world::bond_call(value)
            } else {
                world::bond_extra_call(value)
            };
            send(client, suri, call, tx).await
        }
        StakeCommand::Unbond { amount, tx } => {
            send(client, suri, world::unbond_call(parse_arcm(&amount)?), tx).await
        }
        StakeCommand::Withdraw { tx } => {
            send(client, suri, world::withdraw_unbonded_call(), tx).await
        }
        StakeCommand::Validate { commission, tx } => {
            send(client, suri, world::validate_call(commission)?, tx).await
        }
        StakeCommand::SetKeys { keys, tx } => {
            let keys = match keys {
                Some(keys) => world::parse_session_keys(&keys)?,
                None => {
                    let fresh: String = client.request("author_rotateKeys", vec![]).await?;
                    eprintln!("the node created session keys {fresh}");
                    world::parse_session_keys(&fresh)?
                }
            };
            send(client, suri, world::set_keys_call(keys), tx).await
        }
        StakeCommand::Chill { tx } => send(client, suri, world::chill_call(), tx).await,
        StakeCommand::Nominate { targets, tx } => {
            let targets = targets
                .iter()
                .map(|target| parse_address(target))
                .collect::<Result<Vec<_>, _>>()?;
            send(client, suri, world::nominate_call(targets), tx).await
        }
        StakeCommand::Show { address } => {
            print_json(&client.world_query("arceon_validators", vec![]).await?);
            if let Some(address) = address {
                let who = parse_address(&address)?;
                let who = Value::from(to_ss58(&who));
                print_json(
                    &client
                        .world_query("arceon_stakingLedger", vec![who.clone()])
                        .await?,
                );
                print_json(&client.world_query("arceon_reputation", vec![who]).await?);
            }
            Ok(())
        }
    }
}

/// Prints one line per status, and the events after `inBlock`.
fn print_update(update: WatchUpdate) {
    match update {
        // The inclusion line is printed with its events, once they are read.
        WatchUpdate::Status(TxStatus::InBlock(_)) => {}
        WatchUpdate::Status(status) => println!("{status}"),
        WatchUpdate::Included(inclusion) => {
            println!("inBlock {}", hash_hex(&inclusion.block));
            for event in &inclusion.events {
                println!("  {}", render_event(event));
            }
        }
    }
}

/// Turns a failed call into the process's error.
fn finish(report: &TransferReport) -> Result<(), WalletError> {
    if report.success {
        return Ok(());
    }
    Err(WalletError::DispatchFailed {
        block: hash_hex(&report.in_block),
        error: report
            .error
            .clone()
            .unwrap_or_else(|| "no ExtrinsicSuccess event".to_string()),
    })
}

async fn watch(client: &WalletClient, count: Option<u64>) -> anyhow::Result<()> {
    let mut best = client.subscribe_new_heads().await?;
    let mut finalized = client.subscribe_finalized_heads().await?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut printed = 0u64;
    while count.is_none_or(|max| printed < max) {
        tokio::select! {
            header = best.next() => match header {
                Some(header) => {
                    let header = header?;
                    println!("#{} {}", header.number, hash_hex(&header.hash()));
                }
                None => bail!("the node closed the new-heads subscription (stopped or connection lost)"),
            },
            header = finalized.next() => match header {
                Some(header) => {
                    let header = header?;
                    println!("#{} {} finalized", header.number, hash_hex(&header.hash()));
                }
                None => bail!("the node closed the finalized-heads subscription (stopped or connection lost)"),
            },
            _ = &mut ctrl_c => break,
        }
        printed += 1;
    }
    Ok(())
}
