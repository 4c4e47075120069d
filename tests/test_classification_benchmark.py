"""The public-dataset cross-validation of `make benchmark`, on a small file written here (the
public dataset itself is not part of the project and CI may not have it)."""

import csv

from benchmarks.classification import cross_validate, main
from bot.classifier.features import first_line, has_subject

ROWS = {
    "交通运输": [
        "公交车站牌被撞倒了\n路口的站牌倒在地上好几天，等车的人都找不到站",
        "出租车拒载\n晚上在火车站打车，司机嫌路近不肯走",
        "红绿灯时间太短\n老人过马路走一半就变灯了",
        "公交线路能否延长\n新小区离最近的公交站有两公里",
        "货车超载压坏路面\n每天夜里大货车从村里过，路面全是坑",
        "驾校乱收费\n报名时说好的价钱，考试前又要加钱",
    ],
    "教育文体": [
        "学校食堂饭菜太差\n孩子每天中午都吃不饱，家长很担心",
        "幼儿园乱收费\n开学又多收了一笔兴趣班的钱",
        "体育馆周末不开放\n说是全民健身场馆，周末却锁着门",
        "老师课外有偿补课\n班主任让学生去他家补课，一节课两百",
        "中学放学太晚\n初二学生每天晚上九点才放学",
        "图书馆座位太少\n暑假一早就排长队，很多学生没位置",
    ],
    "卫生计生": [
        "医院挂号难\n凌晨去排队也挂不上专家号",
        "诊所无证行医\n小区门口的诊所没有执照还给人打针",
        "二孩生育登记\n办准生证要跑好几个部门",
        "医生态度恶劣\n看病时医生不耐烦，问两句就骂人",
        "药店卖过期药\n买回来的感冒药已经过期三个月",
        "疫苗接种点太远\n孩子打疫苗要坐一个小时车",
    ],
}


def write_rows(path):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for label, texts in ROWS.items():
            writer.writerows([text, label] for text in texts)
    return path


def test_the_subject_is_the_first_line_normalised():
    assert first_line("\n  公車站牌倒了\n路口的站牌倒在地上") == "  公车站牌倒了"
    assert first_line("路灯不亮") == "路灯不亮"
    assert first_line("") == ""


def test_only_a_message_with_a_title_and_a_body_has_a_subject():
    assert has_subject("公车站牌倒了\n路口的站牌倒在地上好几天")
    assert not has_subject("路灯不亮")
    assert not has_subject("\n路灯不亮\n  \n")


def test_cross_validation_scores_both_models_on_the_same_folds():
    texts = [t for ts in ROWS.values() for t in ts]
    labels = [label for label, ts in ROWS.items() for _ in ts]
    result = cross_validate(texts, labels, folds=3)
    assert result["labels"] == sorted(ROWS)
    for who in ("ours", "baseline"):
        assert 0 <= result[who]["std"] <= result[who]["mean"] <= 1
        assert set(result[who]["per_label"]) == set(ROWS)
    assert result["ours"]["mean"] > 1 / len(ROWS)  # better than guessing


def test_the_public_dataset_run_prints_each_variant(tmp_path, capsys):
    path = write_rows(tmp_path / "public.csv")
    assert main(["--public", str(path), "--public-only"]) == 0
    out = capsys.readouterr().out
    for variant in ("as published (Simplified)", "converted to Traditional (OpenCC)", "titles (first lines) only"):
        assert f"{variant}: 5-fold macro-F1 (mean ± std)" in out
    assert out.count("教育文体") == 3
