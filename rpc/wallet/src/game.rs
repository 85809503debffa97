//! The wallet's game and staking commands: players, fast-lane play, building, staking,
//! areas and NPCs. Each builds its call and sends it through the wallet's one submit path
//! (`send`), so every command reports and fails the same way.

use super::*;

#[derive(Debug, Subcommand)]
pub(crate) enum PlayCommand {
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
pub(crate) enum PlayerCommand {
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
pub(crate) enum BuildCommand {
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
pub(crate) enum StakeCommand {
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
pub(crate) enum AreaCommand {
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
pub(crate) enum NpcCommand {
    /// List the NPCs of an area as JSON.
    List {
        /// Area id.
        area: u32,
    },
}

pub(crate) async fn player(wallet: &Wallet, command: PlayerCommand) -> anyhow::Result<()> {
    match command {
        PlayerCommand::Register { name, tx } => {
            send(wallet, world::register_call(&name)?, tx).await
        }
        PlayerCommand::Move { x, y, tx } => {
            let call = world::move_call(world::parse_units(&x)?, world::parse_units(&y)?);
            send(wallet, call, tx).await
        }
        PlayerCommand::Gather { resource, tx } => {
            send(wallet, world::gather_call(resource), tx).await
        }
        PlayerCommand::Craft { recipe, tx } => send(wallet, world::craft_call(recipe), tx).await,
        PlayerCommand::Show { address } => {
            let who = wallet.account(address.as_deref()).await?;
            let value = wallet.client.player(&who).await?;
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
pub(crate) async fn play(
    wallet: &Wallet,
    command: PlayCommand,
    confirmed_only: bool,
    wait: WaitArgs,
) -> anyhow::Result<()> {
    use arceon_pallet_fastlane::ActionKind;
    use arceon_wallet::lane;
    let client = &wallet.client;
    let pair = wallet.signer().await?;
    let who = account_of(&pair);
    let mut doc = serde_json::json!({ "player": to_ss58(&who) });
    let Some(mut player) = client.lane_player(&who).await? else {
        bail!(
            "{} has no player: register one first (`arceon-wallet player register NAME`)",
            to_ss58(&who)
        );
    };
    if !player.joined {
        wallet.say("joining the fast lanes");
        let tx = TxArgs {
            tip: "0".into(),
            no_wait: false,
            wait: WaitArgs {
                until: Until::InBlock,
                timeout: wait.timeout,
            },
        };
        use codec::Encode as _;
        let joined = send_bytes(wallet, &world::join_lanes_call().encode(), &tx).await?;
        check(&joined)?;
        doc["joined"] = joined;
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
            wallet.say(format!("{} plays through the fast lanes", to_ss58(&who)));
            wallet.doc(&doc);
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
    wallet.say(format!(
        "action {} (area {}, lane nonce {})",
        hash_hex(&action.hash()),
        player.area,
        player.nonce
    ));
    doc["action"] = Value::from(hash_hex(&action.hash()));
    doc["area"] = Value::from(player.area);
    doc["laneNonce"] = Value::from(player.nonce);
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
            let quorum = arceon_pallet_fastlane::quorum(checked.members);
            let outcome = lane::describe_outcome(&checked.receipt.outcome);
            wallet.say(format!(
                "confirmed in {latency:.1} ms: area {} height {} index {} batch {}",
                header.area,
                header.height,
                checked.receipt.index,
                hash_hex(&header.hash())
            ));
            wallet.say(format!(
                "signed by {} of {} members (quorum {}): {}",
                signers.len(),
                checked.members,
                quorum,
                signers.join(", ")
            ));
            wallet.say(format!("outcome {outcome}"));
            doc["confirmed"] = serde_json::json!({
                "latencyMs": latency,
                "area": header.area,
                "height": header.height,
                "index": checked.receipt.index,
                "batch": hash_hex(&header.hash()),
                "signers": signers,
                "members": checked.members,
                "quorum": quorum,
                "outcome": outcome,
            });
            if confirmed_only {
                wallet.doc(&doc);
                return Ok(());
            }
        } else if let Some(rejected) = update.get("rejected") {
            let error = rejected
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            bail!("rejected: {error}");
        } else if let Some(hash) = update.get("inBlock").and_then(Value::as_str) {
            wallet.say(format!("inBlock {hash}"));
            doc["block"] = Value::from(hash);
            if wait.until == Until::InBlock {
                wallet.doc(&doc);
                return Ok(());
            }
        } else if let Some(hash) = update.get("finalized").and_then(Value::as_str) {
            wallet.say(format!("finalized {hash}"));
            doc["finalized"] = Value::from(hash);
            wallet.doc(&doc);
            return Ok(());
        } else if let Some(reason) = update.get("dropped") {
            bail!("dropped: {reason}");
        }
    }
}

pub(crate) async fn build(wallet: &Wallet, command: BuildCommand) -> anyhow::Result<()> {
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
            send(wallet, call, tx).await
        }
        BuildCommand::Upgrade { id, tx } => send(wallet, world::upgrade_call(id), tx).await,
        BuildCommand::Demolish { id, tx } => send(wallet, world::demolish_call(id), tx).await,
        BuildCommand::List { area } => {
            print_json(
                &wallet
                    .client
                    .world_query("arceon_structuresInArea", vec![Value::from(area)])
                    .await?,
            );
            Ok(())
        }
    }
}

pub(crate) async fn stake(wallet: &Wallet, command: StakeCommand) -> anyhow::Result<()> {
    let client = &wallet.client;
    match command {
        StakeCommand::Bond { amount, tx } => {
            let value = parse_arcm(&amount)?;
            let who = account_of(&wallet.signer().await?);
            let bonded = client
                .world_query("arceon_stakingLedger", vec![Value::from(to_ss58(&who))])
                .await?;
            let call = if bonded.is_null() {
                world::bond_call(value)
            } else {
                world::bond_extra_call(value)
            };
            send(wallet, call, tx).await
        }
        StakeCommand::Unbond { amount, tx } => {
            send(wallet, world::unbond_call(parse_arcm(&amount)?), tx).await
        }
        StakeCommand::Withdraw { tx } => send(wallet, world::withdraw_unbonded_call(), tx).await,
        StakeCommand::Validate { commission, tx } => {
            send(wallet, world::validate_call(commission)?, tx).await
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
            send(wallet, world::set_keys_call(keys), tx).await
        }
        StakeCommand::Chill { tx } => send(wallet, world::chill_call(), tx).await,
        StakeCommand::Nominate { targets, tx } => {
            let targets = targets
                .iter()
                .map(|target| parse_address(target))
                .collect::<Result<Vec<_>, _>>()?;
            send(wallet, world::nominate_call(targets), tx).await
        }
        StakeCommand::Show { address } => {
            let validators = client.world_query("arceon_validators", vec![]).await?;
            let mut doc = serde_json::json!({ "validators": validators });
            if !wallet.json {
                print_json(&validators);
            }
            if let Some(address) = address {
                let who = parse_address(&address)?;
                let who = Value::from(to_ss58(&who));
                let ledger = client
                    .world_query("arceon_stakingLedger", vec![who.clone()])
                    .await?;
                let reputation = client.world_query("arceon_reputation", vec![who]).await?;
                if !wallet.json {
                    print_json(&ledger);
                    print_json(&reputation);
                }
                doc["ledger"] = ledger;
                doc["reputation"] = reputation;
            }
            wallet.doc(&doc);
            Ok(())
        }
    }
}
