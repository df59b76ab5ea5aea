"""Choosing fusion weights: the best dev score wins, the smaller weight on ties."""

from pinhan.eval.tuning import choose_gen_weight, choose_weight, format_table

ITEMS = [{"hanzi": "银行", "pinyin": ["yin2", "hang2"], "context": "去"}, {"hanzi": "长城", "pinyin": ["chang2", "cheng2"]}]


def test_choose_weight_reads_toneless_input_and_prefers_the_smaller_weight_on_ties():
    seen = []

    def top1(inputs, weight):
        seen.append(inputs)
        return ["银行", "长城"] if weight >= 1 else ["银行", "场程"]

    weight, table = choose_weight(top1, ITEMS, [0.0, 1.0, 2.0])
    assert weight == 1.0 and [row["weight"] for row in table] == [0.0, 1.0, 2.0]
    assert seen[0] == [("yinhang", "去"), ("changcheng", "")]
    assert table[0]["char"] == 0.5 and table[1]["sentence"] == 1.0
    assert "| 1 | 100.0 | 100.0 |" in format_table("accurate", table, "2 clauses")


def test_choose_gen_weight_scores_the_first_character():
    cases = [("我们去北", "京"), ("长", "城很长")]
    weight, table = choose_gen_weight(lambda prefixes, w: ["京", "城"] if w else ["京", "x"], cases, [0.0, 0.5, 1.0])
    assert weight == 0.5 and [row["next_char"] for row in table] == [0.5, 1.0, 1.0]
    assert format_table("gen", table, "").startswith("continuation (greedy next character")
