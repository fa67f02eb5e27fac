# Counting into a map with text keys, then building and indexing records.


def main():
    digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    counts = {}
    for a in digits:
        for b in digits:
            for c in digits:
                for d in digits:
                    for e in digits:
                        key = "k" + str((a * 7 + b * 3 + c + d * 11 + e) % 500)
                        counts[key] = counts.get(key, 0) + 1
    records = []
    for a in digits:
        for b in digits:
            for c in digits:
                for d in digits:
                    for e in digits:
                        id = a * 10000 + b * 1000 + c * 100 + d * 10 + e
                        record = {}
                        record["id"] = id
                        record["name"] = "contact" + str(id)
                        record["even"] = id % 2 == 0
                        records.append(record)
    by_name = {}
    even_count = 0
    for record in records:
        by_name[record.get("name")] = record.get("id")
        if record.get("even"):
            even_count = even_count + 1
    print("keys: " + str(len(counts)) + ", k42: " + str(counts.get("k42")))
    print("records: " + str(len(by_name)) + ", even: " + str(even_count) + ", contact777: " + str(by_name.get("contact777")))
    print(len(counts))


main()
