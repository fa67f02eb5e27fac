# Pseudo-random numbers and words, sorted and made distinct.


def main():
    digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    numbers = []
    words = []
    seed = 12345
    for round in [1, 2]:
     for a in digits:
        for b in digits:
            for c in digits:
                for d in digits:
                    for e in digits:
                        seed = (seed * 1103515245 + 12345) % 2147483648
                        numbers.append(seed % 50000)
                        words.append("w" + str(seed % 5000))
    sorted_numbers = sorted(numbers)
    unique_numbers = list(dict.fromkeys(numbers))
    sorted_unique = sorted(unique_numbers, reverse=True)
    unique_words = sorted(dict.fromkeys(words))
    print("first: " + str(sorted_numbers[0]) + ", last: " + str(sorted_numbers[len(sorted_numbers) - 1]))
    print("unique: " + str(len(unique_numbers)) + ", largest unique: " + str(sorted_unique[0]))
    print("words: " + str(len(unique_words)) + ", first word: " + unique_words[0])
    print(len(unique_numbers))


main()
