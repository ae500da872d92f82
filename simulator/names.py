"""Plausible Chinese names for simulated subjects, built from syllable lists.

Companies follow the registered-name pattern 行政区划 + 字号 + 行业 + 组织形式
(``日照恒泰建材有限公司``); individual businesses carry their district and a shop
word (``莒县鑫源五金店``); government bodies are departments or town governments;
persons get a surname weighted by frequency and a one- or two-character given name.
None of the lists holds a quote or a backslash, so names go into JSON unescaped.

Examples
--------
>>> import random
>>> person_name(random.Random(3))
'李辉'
>>> company_name(random.Random(3), "construction", "371102").endswith("公司")
True
"""

from __future__ import annotations

import itertools
import random

_BRAND = (
    "恒泰鑫源华盛兴隆宏达信诚金瑞祥嘉和丰海阳东方明辉宇航博远安康鼎德润福永成中天新立通汇聚晟昌"
    "茂凯旭腾峰卓越正鸿顺利佳美星光弘浩宁蓝港岚启乾坤元宝钰锦荣富民众合力振开亿万豪帆舜尚"
)
#: Surnames with their relative frequency in the city (厉 and 牟 are local).
_SURNAMES = (
    "王30 张28 李27 刘20 陈12 杨10 赵9 孙9 徐7 马6 高6 朱5 胡4 郭5 何3 林4 郑3 宋4 韩4 唐2 "
    "冯3 于5 董4 程3 曹3 袁2 许3 吕3 苏2 卢3 丁4 魏3 薛2 厉3 牟3 秦3 田3 姜4 范2 石2 孔2 崔3 "
    "邵2 孟3 庄2 安2 管2 葛2"
).split()
_SURNAME_CHOICES = tuple(entry[0] for entry in _SURNAMES)
_SURNAME_CUM = list(itertools.accumulate(int(entry[1:]) for entry in _SURNAMES))
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚华红鹏辉宁欣浩宇轩晨阳"
    "斌波峰琳婷莉雪梅兰凤英玲燕瑞鑫凯帅博文东海林飞龙云亮丹倩颖"
)
_GIVEN_PAIRS = "秀英 建国 建华 玉兰 志强 海燕 桂英 子豪 一诺 雨桐 佳怡".split()

_INDUSTRY: dict[str, tuple[str, ...]] = {
    "market_regulation": ("商贸", "贸易", "实业", "百货", "科技", "电子", "五金"),
    "construction": ("建筑工程", "建材", "建设", "路桥工程", "装饰工程", "钢结构"),
    "food_drug": ("食品", "医药", "餐饮管理", "水产", "粮油", "药业", "茶业"),
    "transport": ("物流", "运输", "货运代理", "汽车服务", "港口服务", "船务"),
    "ecommerce": ("电子商务", "网络科技", "供应链管理"),
    "domestic_services": ("家政服务", "物业管理", "保洁服务"),
    "culture_tourism": ("文化传媒", "旅游开发", "酒店管理", "旅行社"),
    "ecology_environment": ("化工", "环保科技", "钢铁", "造纸", "石化"),
    "work_safety": ("矿业", "危险品运输", "燃气", "爆破工程"),
    "grain_energy": ("能源", "粮食储备", "石油", "新能源", "热电"),
    "finance": ("融资担保", "小额贷款", "典当", "投资管理"),
    "internet_finance": ("金融信息服务", "投资咨询", "网络小贷"),
    "customs": ("进出口", "国际贸易", "报关", "国际物流"),
    "bidding": ("招标代理", "工程咨询", "造价咨询"),
    "taxation": ("财务咨询", "会计服务", "税务师事务所"),
    "health": ("医疗器械", "健康管理", "生物科技"),
    "medical_insurance": ("医药连锁", "康复医疗", "大药房"),
    "housing": ("房地产开发", "置业", "物业"),
    "human_resources": ("人力资源", "劳务派遣", "职业培训"),
    "emergency_management": ("消防工程", "安全技术", "应急装备"),
    "civil_affairs": ("殡葬服务", "养老服务"),
}
_COMPANY_FORM = (("有限公司", 70), ("有限责任公司", 15), ("股份有限公司", 10), ("集团有限公司", 5))

_SHOP: dict[str, tuple[str, ...]] = {
    "market_regulation": ("五金店", "便利店", "日用品店", "服装店", "超市", "烟酒店"),
    "food_drug": ("饭店", "烧烤店", "水饺馆", "海鲜餐馆", "蔬菜店", "食品店", "茶叶店"),
    "domestic_services": ("家政服务部", "保洁服务部"),
    "transport": ("汽车修理部", "货运部"),
    "ecommerce": ("网店",),
    "culture_tourism": ("民宿", "渔家乐", "网吧"),
    "construction": ("装修队", "建材店"),
    "health": ("诊所", "推拿店"),
    "medical_insurance": ("大药房",),
    "grain_energy": ("粮油店",),
}

DISTRICT_SHORT: dict[str, str] = {
    "371102": "东港区",
    "371103": "岚山区",
    "371121": "五莲县",
    "371122": "莒县",
    "371171": "日照经济技术开发区",
}
_TOWNS: dict[str, tuple[str, ...]] = {
    "371102": ("石臼", "秦楼", "日照", "河山", "涛雒", "三庄", "西湖", "陈疃", "南湖", "后村"),
    "371103": ("安东卫", "岚山头", "虎山", "碑廓", "巨峰", "高兴", "黄墩", "中楼"),
    "371121": ("洪凝", "街头", "潮河", "许孟", "于里", "汪湖", "叩官", "中至", "高泽", "松柏"),
    "371122": ("城阳", "店子集", "招贤", "陵阳", "夏庄", "刘官庄", "浮来山", "小店", "龙山"),
    "371171": ("奎山", "北京路", "新港"),
}
_DEPARTMENTS = (
    "市场监督管理局 住房和城乡建设局 交通运输局 应急管理局 财政局 教育和体育局 民政局 "
    "人力资源和社会保障局 卫生健康局 自然资源局 农业农村局 水利局 商务局 文化和旅游局 "
    "综合行政执法局 人民政府办公室"
).split()
_INSTITUTIONS: dict[str, tuple[str, ...]] = {
    "health": ("{b}医院", "{t}镇卫生院", "{b}中医医院", "{b}口腔医院"),
    "civil_affairs": ("{b}慈善协会", "{b}养老院", "{b}社会工作服务中心", "{b}商会"),
    "culture_tourism": ("{b}艺术团", "{b}文化馆", "{b}博物馆"),
    "human_resources": ("{b}职业培训学校", "{b}人才服务中心"),
    "medical_insurance": ("{b}康复医院", "{b}社区卫生服务中心"),
}


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    total = sum(w for _, w in options)
    pick = rng.random() * total
    for value, weight in options:
        pick -= weight
        if pick < 0:
            return value
    return options[-1][0]


def brand(rng: random.Random) -> str:
    """A two-character trade name (字号)."""
    # Two distinct characters; cheaper than rng.sample, which matters for millions of names.
    first = int(len(_BRAND) * rng.random())
    second = (first + 1 + int((len(_BRAND) - 1) * rng.random())) % len(_BRAND)
    return _BRAND[first] + _BRAND[second]


def company_name(rng: random.Random, sector: str, district: str) -> str:
    """An enterprise name: place, trade name, line of business, legal form."""
    industry = rng.choice(_INDUSTRY.get(sector, _INDUSTRY["market_regulation"]))
    roll = rng.random()
    if roll < 0.6:
        place = "日照"
    elif roll < 0.85:
        place = "山东"
    else:
        place = "日照市" + DISTRICT_SHORT[district]
    return place + brand(rng) + industry + _weighted(rng, _COMPANY_FORM)


def shop_name(rng: random.Random, sector: str, district: str) -> str:
    """An individual business (个体工商户): district, trade name or family name, shop word."""
    shop = rng.choice(_SHOP.get(sector, _SHOP["market_regulation"]))
    owner = brand(rng) if rng.random() < 0.7 else rng.choice(_SURNAME_CHOICES) + "记"
    return DISTRICT_SHORT[district] + owner + shop


def institution_name(rng: random.Random, sector: str, district: str) -> str:
    """A public institution or social organisation (事业单位, 社会组织)."""
    template = rng.choice(_INSTITUTIONS.get(sector, ("{b}服务中心", "{b}行业协会")))
    body = template.format(b=brand(rng), t=rng.choice(_TOWNS[district]))
    return "日照市" + DISTRICT_SHORT[district] + body


def government_name(rng: random.Random, district: str) -> str:
    """A government body: a city or district department, or a town government."""
    roll = rng.random()
    if roll < 0.3:
        return "日照市" + rng.choice(_DEPARTMENTS)
    if roll < 0.7:
        return DISTRICT_SHORT[district] + rng.choice(_DEPARTMENTS)
    town = rng.choice(_TOWNS[district])
    office = "街道办事处" if rng.random() < 0.3 else "镇人民政府"
    return DISTRICT_SHORT[district] + town + office


def person_name(rng: random.Random) -> str:
    """A person's name: frequency-weighted surname and a one- or two-character given name."""
    pick = rng.random() * _SURNAME_CUM[-1]
    surname = next(s for s, cum in zip(_SURNAME_CHOICES, _SURNAME_CUM, strict=True) if pick < cum)
    roll = rng.random()
    if roll < 0.1:
        return surname + rng.choice(_GIVEN_PAIRS)
    if roll < 0.55:
        return surname + rng.choice(_GIVEN)
    return surname + rng.choice(_GIVEN) + rng.choice(_GIVEN)
