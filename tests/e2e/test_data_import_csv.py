"""`zoo data import --csv`: Etherscan token-transfer exports with the same mapping."""

from __future__ import annotations

from e2e.zoocli import Zoo

ME = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
UNI = "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984"
BAYC = "0xBC4CA0EdA7647A8aB7C2061c2E118A18a936f13D"
TX = "0x" + "ab" * 32
TX2 = "0x" + "cd" * 32

ERC20 = (
    '"Transaction Hash","Blockno","UnixTimestamp","DateTime (UTC)","From","To","TokenValue","USDValueDayOfTx",'
    '"ContractAddress","TokenName","TokenSymbol"\n'
    f'"{TX}","17000000","1681000000","2023-04-09 00:26:40","{ME}","{OTHER}","1,234.5","$0.00","{UNI}","Uniswap","UNI"\n'
    f'"{TX2}","17000001","1681000012","2023-04-09 00:26:52","{OTHER}","{ME}","3","$0.00","{UNI}","Uniswap","UNI"\n'
)
NFT = (
    '"Txhash","Blockno","UnixTimestamp","DateTime (UTC)","From","To","ContractAddress","TokenId","TokenName","TokenSymbol"\n'
    f'"{TX2}","17000001","1681000012","2023-04-09 00:26:52","{OTHER}","{ME}","{BAYC}","42","BoredApeYachtClub","BAYC"\n'
)


def test_csv_exports_import_check_and_dedup(tmp_path):
    zoo = Zoo(tmp_path / "home")
    (tmp_path / "erc20.csv").write_text(ERC20)
    (tmp_path / "nft.csv").write_text(NFT)
    out = tmp_path / "mine.jsonl"
    r = zoo("data", "import", "--csv", tmp_path / "erc20.csv", "--address", ME, "-o", out)
    assert r.data["records"] == 1 and r.data["domains"] == {"defi": 1}  # the received UNI is not an action
    r = zoo("data", "import", "--csv", tmp_path / "nft.csv", "--address", ME.lower(), "-o", out)
    assert r.data["records"] == 1 and r.data["domains"] == {"nft": 1}
    again = zoo("data", "import", "--csv", tmp_path / "erc20.csv", "--address", ME, "-o", out)
    assert again.data["records"] == 0 and again.data["duplicates_skipped"] == 1
    import json

    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert recs[0]["tokens"] == ["UNI"] and recs[0]["amounts"] == [1234.5] and recs[0]["tx_hash"] == TX
    assert recs[1]["action"] == "receive" and recs[1]["token_id"] == 42 and recs[1]["collection"] == "BAYC"
    assert zoo("data", "check", out).data["valid"]


def test_csv_bad_inputs(tmp_path):
    zoo = Zoo(tmp_path / "home")
    bad = tmp_path / "bad.csv"
    bad.write_text('"a","b"\n"1","2"\n')
    r = zoo("data", "import", "--csv", bad, "--address", ME, "-o", tmp_path / "o.jsonl", expect=2)
    assert "missing column" in r.data["error"]["message"]
    broken = tmp_path / "broken.csv"
    broken.write_text(ERC20.replace(OTHER, "0xnothex", 1))
    r = zoo("data", "import", "--csv", broken, "--address", ME, "-o", tmp_path / "o.jsonl", expect=2)
    assert "bad.csv" not in r.data["error"]["message"] and ":2:" in r.data["error"]["message"]
