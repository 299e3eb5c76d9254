
BoutputJ@{º;