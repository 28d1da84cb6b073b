//! Pools of syllables for fictitious names, each with its pinyin for the English labels.

/// Common surnames of south Shandong, with pinyin.
pub const SURNAMES: &[(&str, &str)] = &[
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("孙", "Sun"), ("杨", "Yang"), ("赵", "Zhao"),
    ("陈", "Chen"), ("徐", "Xu"), ("褚", "Chu"), ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"),
    ("高", "Gao"), ("邵", "Shao"), ("宋", "Song"), ("韩", "Han"), ("冯", "Feng"), ("曹", "Cao"), ("田", "Tian"),
    ("董", "Dong"), ("袁", "Yuan"), ("于", "Yu"), ("程", "Cheng"), ("魏", "Wei"), ("吕", "Lyu"), ("丁", "Ding"),
    ("任", "Ren"), ("崔", "Cui"), ("姜", "Jiang"), ("贾", "Jia"), ("付", "Fu"), ("秦", "Qin"), ("颜", "Yan"),
    ("孔", "Kong"), ("蒋", "Jiang"), ("殷", "Yin"), ("党", "Dang"), ("翟", "Zhai"), ("石", "Shi"), ("金", "Jin"),
    ("鲁", "Lu"), ("岳", "Yue"), ("苗", "Miao"), ("闫", "Yan"), ("葛", "Ge"), ("庞", "Pang"), ("倪", "Ni"),
];

/// Characters of given names.
pub const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞",
    "平", "刚", "桂", "英", "华", "玉", "兰", "建", "国", "志", "红", "春", "凤", "德", "文", "海", "成", "忠", "兴",
    "荣", "庆", "福", "宝", "振", "保", "林", "云", "梅", "翠", "莲", "宇", "浩", "欣", "怡", "晨", "子", "涵", "雨",
    "轩", "佳", "琪", "博", "睿", "可", "馨", "冬", "雪", "山", "峰", "永", "长", "秋", "菊", "连", "金", "银",
];

/// Village-name roots (place words), with pinyin.
pub const PLACE_ROOTS: &[(&str, &str)] = &[
    ("东", "Dong"), ("西", "Xi"), ("南", "Nan"), ("北", "Bei"), ("前", "Qian"), ("后", "Hou"), ("上", "Shang"),
    ("下", "Xia"), ("大", "Da"), ("小", "Xiao"), ("石", "Shi"), ("柳", "Liu"), ("桃", "Tao"), ("杏", "Xing"),
    ("枣", "Zao"), ("松", "Song"), ("龙", "Long"), ("凤", "Feng"), ("白", "Bai"), ("青", "Qing"), ("黄", "Huang"),
    ("泉", "Quan"), ("河", "He"), ("岭", "Ling"), ("山", "Shan"), ("水", "Shui"), ("沟", "Gou"), ("崖", "Ya"),
    ("官", "Guan"), ("马", "Ma"), ("牛", "Niu"), ("羊", "Yang"), ("鹿", "Lu"), ("梨", "Li"), ("樱", "Ying"),
];

/// Village-name suffixes typical of the hills of Shanting, with pinyin.
pub const PLACE_SUFFIXES: &[(&str, &str)] = &[
    ("庄", "zhuang"), ("家庄", "jiazhuang"), ("峪", "yu"), ("岭", "ling"), ("沟", "gou"), ("洼", "wa"), ("楼", "lou"),
    ("营", "ying"), ("店", "dian"), ("集", "ji"), ("河", "he"), ("山", "shan"), ("崖", "ya"), ("泉", "quan"),
    ("湖", "hu"), ("台", "tai"), ("坡", "po"), ("涧", "jian"), ("屯", "tun"), ("园", "yuan"),
];

/// Community-name roots for 社区 in town seats.
pub const COMMUNITY_ROOTS: &[(&str, &str)] = &[
    ("府前", "Fuqian"), ("新城", "Xincheng"), ("翼云", "Yiyun"), ("汇泉", "Huiquan"), ("桃园", "Taoyuan"),
    ("振兴", "Zhenxing"), ("和谐", "Hexie"), ("金山", "Jinshan"), ("东湖", "Donghu"), ("城南", "Chengnan"),
    ("城北", "Chengbei"), ("青年", "Qingnian"), ("幸福", "Xingfu"), ("世纪", "Shiji"), ("安康", "Ankang"),
    ("富民", "Fumin"), ("康乐", "Kangle"), ("文化", "Wenhua"), ("育才", "Yucai"), ("光明", "Guangming"),
    ("兴华", "Xinghua"), ("长青", "Changqing"), ("团结", "Tuanjie"), ("建设", "Jianshe"), ("胜利", "Shengli"),
    ("向阳", "Xiangyang"), ("锦绣", "Jinxiu"), ("春晖", "Chunhui"), ("安居", "Anju"), ("民安", "Min'an"),
];

/// Brand syllables for fictitious enterprise names.
pub const BRANDS: &[&str] = &[
    "鑫源", "恒泰", "华宇", "鲁岳", "宏达", "金峰", "瑞丰", "永盛", "嘉禾", "凯达", "天元", "泰和", "广润", "盛世", "远航",
    "德隆", "福瑞", "汇通", "丰源", "新业", "联强", "佳信", "明珠", "润泽", "安泰",
];

/// Industries of key enterprises: name, English, why they are key.
pub const INDUSTRIES: &[(&str, &str, &str, &str)] = &[
    ("水泥建材", "Cement and building materials", "粉尘与重型车辆", "Dust and heavy vehicles"),
    ("汽车零部件", "Auto parts", "人员密集", "Many workers"),
    ("食品加工", "Food processing (jujube, cherry)", "季节性用工集中", "Seasonal workforce"),
    ("化工", "Chemicals", "危险化学品", "Hazardous chemicals"),
    ("石材开采", "Stone quarrying", "民用爆炸物品", "Civil explosives"),
    ("物流仓储", "Logistics and warehousing", "易燃物品仓储", "Flammable goods in storage"),
    ("纺织服装", "Textiles and garments", "人员密集", "Many workers"),
    ("电子元件", "Electronic components", "人员密集", "Many workers"),
    ("木业加工", "Wood processing", "易燃易爆粉尘", "Combustible dust"),
    ("酿酒", "Brewing", "易燃液体", "Flammable liquids"),
    ("新能源", "New energy", "重点建设项目", "Key construction project"),
];
