"""Write beacons.nmea: distress beacons as ITU-R M.1371 and IEC 61097-14 say they transmit, encoded with pyais.

No public capture with a 970/972/974 MMSI could be found, so these are made. Run from the repository root:
`python tests/data/ais/make_beacons.py > tests/data/ais/beacons.nmea`.
"""

from __future__ import annotations

from typing import Any

from pyais.encode import encode_dict


def sentence(fields: dict[str, Any]) -> str:
    return encode_dict(fields, talker_id="AI", sentence_type="VDM", radio_channel="A")[0]


def main() -> None:
    print("# MADE with tests/data/ais/make_beacons.py (pyais encode_dict), not captured: see README.md.")
    print("# An AIS-SART off the Similan Islands, active (status 14): a burst of eight position reports and its text")
    for n in range(8):
        print(sentence({"type": 1, "mmsi": 970012345, "status": 14, "lat": 8.6512 + n * 0.00001, "lon": 97.6421,
                        "speed": 0.4, "course": 45.0}))
    print(sentence({"type": 14, "mmsi": 970012345, "text": "SART ACTIVE"}))
    print("# A man-overboard device, active")
    print(sentence({"type": 1, "mmsi": 972011111, "status": 14, "lat": 8.4502, "lon": 97.6512, "speed": 0.8,
                    "course": 180.0}))
    print("# An EPIRB-AIS, active")
    print(sentence({"type": 1, "mmsi": 974022222, "status": 14, "lat": 9.3991, "lon": 97.8703, "speed": 0.0,
                    "course": 0.0}))
    print("# An AIS-SART in test mode (status 15, text SART TEST): it opens nothing")
    print(sentence({"type": 1, "mmsi": 970099999, "status": 15, "lat": 8.0963, "lon": 98.6212, "speed": 0.0,
                    "course": 0.0}))
    print(sentence({"type": 14, "mmsi": 970099999, "text": "SART TEST"}))


if __name__ == "__main__":
    main()
