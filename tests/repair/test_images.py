"""The difference of two images of an item (what undoing a repair's update writes back), and
equality of values as DynamoDB holds them."""

from __future__ import annotations

from parity.repair.images import difference, same_item, same_value


def test_difference_lists_the_changed_added_and_removed_attributes_only() -> None:
    before = {
        "pk": {"S": "a"},
        "name": {"S": "wrong"},
        "gsi9": {"S": "keep"},
        "gone": {"N": "1"},
        "count": {"N": "5"},
        "tags": {"SS": ["x", "y"]},
    }
    after = {
        "pk": {"S": "a"},
        "name": {"S": "right"},
        "gsi9": {"S": "keep"},
        "count": {"N": "5.0"},  # the same number spelled otherwise: not changed
        "tags": {"SS": ["y", "x"]},  # the same set in another order: not changed
        "added": {"BOOL": True},
    }
    assert difference(before, after) == {
        "name": ({"S": "wrong"}, {"S": "right"}),
        "gone": ({"N": "1"}, None),
        "added": (None, {"BOOL": True}),
    }
    assert difference(after, before) == {
        "name": ({"S": "right"}, {"S": "wrong"}),
        "added": ({"BOOL": True}, None),
        "gone": (None, {"N": "1"}),
    }
    assert difference(before, dict(before)) == {}
    assert difference({}, {"x": {"NULL": True}}) == {"x": (None, {"NULL": True})}


def test_a_value_of_another_type_is_a_change_also_inside_maps_and_lists() -> None:
    assert difference({"v": {"N": "1"}}, {"v": {"BOOL": True}}) == {"v": ({"N": "1"}, {"BOOL": True})}
    assert difference({"v": {"N": "0"}}, {"v": {"BOOL": False}}) == {"v": ({"N": "0"}, {"BOOL": False})}
    assert difference({"v": {"S": "1"}}, {"v": {"N": "1"}}) == {"v": ({"S": "1"}, {"N": "1"})}
    nested_number = {"M": {"a": {"L": [{"N": "1"}]}}}
    nested_bool = {"M": {"a": {"L": [{"BOOL": True}]}}}
    assert not same_value(nested_number, nested_bool)
    assert same_value(nested_number, {"M": {"a": {"L": [{"N": "1.00"}]}}})
    assert not same_value({"L": [{"N": "1"}, {"N": "2"}]}, {"L": [{"N": "2"}, {"N": "1"}]})  # a list keeps order
    assert not same_value({"SS": ["1"]}, {"NS": ["1"]})
    assert same_value({"B": b"\x00\x01"}, {"B": b"\x00\x01"})


def test_same_item_wants_the_same_attributes_with_the_same_values() -> None:
    item = {"pk": {"S": "a"}, "budget": {"N": "1.50"}}
    assert same_item(item, {"budget": {"N": "1.5"}, "pk": {"S": "a"}})
    assert not same_item(item, {**item, "appNote": {"S": "added since"}})
    assert not same_item({**item, "appNote": {"S": "added since"}}, item)
    assert not same_item(item, {"pk": {"S": "a"}, "budget": {"N": "2"}})
