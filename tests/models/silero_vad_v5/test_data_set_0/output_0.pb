
BoutputJ Rr<