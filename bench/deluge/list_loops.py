# Arithmetic in nested loops over lists, then list building and filtering.


def main():
    digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    total = 0
    for a in digits:
        for b in digits:
            for c in digits:
                for d in digits:
                    for e in digits:
                        for f in digits:
                            total = total + a * f - b + c % 3 + d * e
    print("total: " + str(total))
    numbers = []
    for a in digits:
        for b in digits:
            for c in digits:
                for d in digits:
                    for e in digits:
                        numbers.append(a * 10000 + b * 1000 + c * 100 + d * 10 + e)
    evens = 0
    odds = 0
    for x in numbers:
        if x % 2 == 0:
            evens = evens + x
        else:
            odds = odds + 1
    print("evens: " + str(evens) + ", odds: " + str(odds) + ", size: " + str(len(numbers)))
    print(total)


main()
