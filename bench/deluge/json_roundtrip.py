# Maps to JSON text and back, one record at a time and as one large document.
import json


def main():
    digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    total = 0
    names = []
    for a in digits:
        for b in digits:
            for c in digits:
                for d in digits:
                    id = a * 1000 + b * 100 + c * 10 + d
                    record = {"id": id, "name": "Contact " + str(id), "tags": ["lead", "partner", "t" + str(d)], "active": True, "address": {"city": "Chennai", "zip": "6000" + str(c)}}
                    text = json.dumps(record)
                    back = json.loads(text)
                    total = total + back.get("id")
                    names.append(back.get("name"))
    document = {}
    document["contacts"] = names
    document["count"] = len(names)
    for a in digits:
        for b in digits:
            document_text = json.dumps(document)
            parsed = json.loads(document_text)
            total = total + parsed.get("count")
    print("total: " + str(total) + ", last: " + names[len(names) - 1])
    print(total)


main()
