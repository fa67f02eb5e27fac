# Building a long text piece by piece, then splitting and searching it; three rounds.


def main():
    digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    rounds = [1, 2, 3]
    lengths = 0
    matches = 0
    for round in rounds:
        text = ""
        for a in digits:
            for b in digits:
                for c in digits:
                    for d in digits:
                        for e in digits:
                            text += "item" + str(a * 10000 + b * 1000 + c * 100 + d * 10 + e) + ";"
        pieces = text.split(";")
        upper = text.upper()
        for piece in pieces:
            lengths = lengths + len(piece)
            if "77" in piece:
                matches = matches + 1
            if piece.startswith("item9"):
                lengths = lengths + round
    print("length: " + str(len(text)) + ", pieces: " + str(len(pieces)))
    print("upper has ITEM99999: " + str("ITEM99999" in upper).lower() + ", lengths: " + str(lengths) + ", matches: " + str(matches))
    print(len(text))


main()
