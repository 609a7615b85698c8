"""AIS in: NMEA sentences decoded (pyais), the receivers' sockets, and the live vessel picture in Redis."""
