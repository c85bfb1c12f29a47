"""China UnionPay POS field formats for pyiso8583, written from the public profile notes,
independently of the Rust table. BCD lengths count nibbles; variable numeric fields carry a
trailing pad nibble, fixed odd numeric fields a leading one except F22."""


def _f(data_enc, len_type, max_len, desc, len_count="bytes", **pad):
    spec = {"data_enc": data_enc, "len_enc": "bcd" if len_type else "ascii", "len_type": len_type,
            "max_len": max_len, "desc": desc, "len_count": len_count}
    spec.update(pad)
    return spec


def bcd(len_type, max_len, desc, **pad):
    return _f("b", len_type, max_len, desc, len_count="nibbles", **pad)


CUP_SPEC = {
    "h": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 11, "desc": "TPDU + header"},
    "t": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 2, "desc": "MTI (BCD)"},
    "p": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 8, "desc": "Primary bitmap"},
    "2": bcd(1, 19, "PAN", right_pad="0"),
    "3": bcd(0, 6, "Processing code"),
    "4": bcd(0, 12, "Amount"),
    "11": bcd(0, 6, "STAN"),
    "12": bcd(0, 6, "Time"),
    "13": bcd(0, 4, "Date"),
    "14": bcd(0, 4, "Expiry"),
    "15": bcd(0, 4, "Settlement date"),
    "22": bcd(0, 3, "Entry mode", right_pad="0"),
    "23": bcd(0, 3, "Card sequence", left_pad="0"),
    "25": bcd(0, 2, "Condition code"),
    "26": bcd(0, 2, "PIN capture code"),
    "32": bcd(1, 11, "Acquirer id", right_pad="0"),
    "35": bcd(1, 37, "Track 2", right_pad="0"),
    "36": bcd(2, 104, "Track 3", right_pad="0"),
    "37": _f("ascii", 0, 12, "RRN"),
    "38": _f("ascii", 0, 6, "Auth code"),
    "39": _f("ascii", 0, 2, "Response code"),
    "41": _f("ascii", 0, 8, "Terminal id"),
    "42": _f("ascii", 0, 15, "Merchant id"),
    "44": _f("ascii", 1, 25, "Additional response data"),
    "48": bcd(2, 322, "Additional data", right_pad="0"),
    "49": _f("ascii", 0, 3, "Currency"),
    "52": _f("b", 0, 8, "PIN block"),
    "53": bcd(0, 16, "Security control"),
    "54": _f("ascii", 2, 20, "Balance amount"),
    "55": _f("b", 2, 255, "ICC data"),
    "60": bcd(2, 19, "Reserved private 60", right_pad="0"),
    "61": bcd(2, 29, "Original message", right_pad="0"),
    "62": _f("b", 2, 512, "Reserved private 62"),
    "63": _f("ascii", 2, 163, "Reserved private 63"),
    "64": _f("b", 0, 8, "MAC"),
}
# pyiso8583 wants every field key present in a spec; give the unused ones a placeholder.
for _n in range(1, 129):
    CUP_SPEC.setdefault(str(_n), _f("b", 0, 8, f"unused {_n}"))
