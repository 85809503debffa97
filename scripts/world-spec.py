#!/usr/bin/env python3
"""Writes the world part (staking, areas, players, structures, npcs) of the dev and local
chain specs. Run from the repository root after changing the world: it rewrites
chain-spec/dev.json and chain-spec/local.json in place, keeping everything else."""
import json

U = 1000  # milli-units per world unit
ARCM = 10**12
SIDE = 200 * U
NAMES = ["Meadow", "Whisperwood", "Greystone Quarry", "Lakeshore",
         "Amber Hills", "Fenmarsh", "Ironridge", "Saltharbor"]
# resource ids: 1 wood, 2 stone, 3 iron ore, 4 fish, 5 herbs
DEPOSITS = [[1, 5], [1, 5], [2], [4, 5], [2, 5], [5, 4], [3, 2], [4, 1]]

def deposit(resource):
    return {"resource": resource, "amount": 500, "max": 500, "regenPerBlock": 1}

def areas():
    out = []
    for i in range(8):
        col, row = i % 4, i // 4
        out.append({
            "id": i,
            "name": NAMES[i],
            "bounds": {"minX": col * SIDE, "minY": row * SIDE,
                       "maxX": (col + 1) * SIDE, "maxY": (row + 1) * SIDE},
            "neighbours": sorted(j for j in range(8)
                                 if (abs(j % 4 - col) + abs(j // 4 - row)) == 1),
            "capacity": 10000,
            "resources": [deposit(r) for r in DEPOSITS[i]],
        })
    return out

WORLD = {
    "areas": {"areas": areas(), "startingArea": 0, "committeeSize": 3,
              "splitThreshold": 10000, "mergeThreshold": 1000},
    "players": {
        "resources": [
            {"id": 1, "name": "Wood", "minLevel": 1, "yieldPerGather": 2},
            {"id": 2, "name": "Stone", "minLevel": 1, "yieldPerGather": 2},
            {"id": 3, "name": "Iron Ore", "minLevel": 2, "yieldPerGather": 1},
            {"id": 4, "name": "Fish", "minLevel": 1, "yieldPerGather": 1},
            {"id": 5, "name": "Herbs", "minLevel": 1, "yieldPerGather": 1},
        ],
        "recipes": [
            {"id": 1, "name": "Plank", "inputs": [[1, 2]], "output": [101, 1], "minLevel": 1, "xp": 10},
            {"id": 2, "name": "Brick", "inputs": [[2, 2]], "output": [102, 1], "minLevel": 1, "xp": 10},
            {"id": 3, "name": "Iron Ingot", "inputs": [[3, 2]], "output": [103, 1], "minLevel": 2, "xp": 20},
            {"id": 4, "name": "Tool", "inputs": [[101, 1], [103, 1]], "output": [104, 1], "minLevel": 3, "xp": 40},
            {"id": 5, "name": "Remedy", "inputs": [[5, 3]], "output": [105, 1], "minLevel": 1, "xp": 10},
        ],
        "maxActionsPerBlock": 4,
        "maxActionsPerEra": 1000,
    },
    "structures": {
        "kinds": [
            {"id": 1, "name": "Hut", "width": 10 * U, "height": 10 * U, "claimRadius": 5 * U,
             "cost": [[101, 1]], "upgradeCost": [[101, 2]], "maxLevel": 3},
            {"id": 2, "name": "Workshop", "width": 16 * U, "height": 12 * U, "claimRadius": 8 * U,
             "cost": [[101, 2], [102, 2]], "upgradeCost": [[102, 2], [103, 1]], "maxLevel": 3},
            {"id": 3, "name": "Watchtower", "width": 6 * U, "height": 6 * U, "claimRadius": 10 * U,
             "cost": [[102, 4]], "upgradeCost": [[102, 4]], "maxLevel": 2},
        ],
        "maxPerArea": 256,
    },
    "npcs": {
        "npcs": [
            {"name": "Old Tom", "kind": "Villager", "area": 0, "position": {"x": 60 * U, "y": 60 * U}},
            {"name": "Mara the Trader", "kind": "Trader", "area": 1, "position": {"x": 300 * U, "y": 100 * U}},
            {"name": "Quarry Foreman", "kind": "Villager", "area": 2, "position": {"x": 500 * U, "y": 50 * U}},
            {"name": "Grey Wolf", "kind": "Beast", "area": 5, "position": {"x": 300 * U, "y": 300 * U}},
            {"name": "Harbor Master", "kind": "Trader", "area": 7, "position": {"x": 700 * U, "y": 300 * U}},
        ],
        "spawnRules": [[5, [{"kind": "Beast", "maxCount": 4, "chancePerMille": 20}]],
                       [1, [{"kind": "Beast", "maxCount": 2, "chancePerMille": 10}]]],
        "decisionsPerBlock": 32,
    },
}

def staking(validators):
    return {
        "stakers": [[v, 1000 * ARCM, "Validator"] for v in validators],
        "validatorCount": 10,
        "minValidatorBond": 100 * ARCM,
        "minNominatorBond": 10 * ARCM,
        "eraLength": 60,
        "sessionsPerEra": 6,
        "bondingDuration": 2,
        "slashDeferDuration": 1,
        "eraPayout": 100 * ARCM,
        "slashFractionEquivocation": 100_000_000,
    }

for path in ["chain-spec/dev.json", "chain-spec/local.json"]:
    spec = json.load(open(path))
    config = spec["genesis"]["runtimeGenesis"]["config"]
    validators = config["aura"]["authorities"]
    config["staking"] = staking(validators)
    config["sudo"] = {"key": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"}  # //Alice
    for key, value in WORLD.items():
        config[key] = value
    with open(path, "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    print(f"{path}: {len(validators)} validators, {len(WORLD['areas']['areas'])} areas")
