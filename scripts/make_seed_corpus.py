"""Write the QC models' seed corpus: labelled agent and customer utterances, Mandarin and English.

    python scripts/make_seed_corpus.py            # rewrites qc/models/data/*.tsv, *.usem3.npz, FAMILIES.md

Every utterance comes from a hand-written template in this file; slots ({bank}, {amount}, ...) are filled with
varied values, and numbers are written either in Chinese characters or in Arabic digits (as Whisper writes them).
Labels belong to the template, so they are honest by construction: a template labelled `threat` says a threat
whatever fills its slots.

The held-out split is made by *template*, not by row: every fourth template of each group goes to the holdout
file only, so the held-out utterances are phrasings that training never saw (not just new slot values).

Templates share their author's habits. The family `independent-written` adds the labelled utterances that other
people wrote without seeing this file (configs/rules/calibration/: the semantic rules' tuning set and the spent
blind sets 1, 2 and 4 to 18), every fourth row of each file to the holdout, so the holdout also measures phrasings no
template has. The generator is deterministic (fixed seed); its output files are committed.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qc.models.embedding import embedding_file, write_embeddings  # noqa: E402
from qc.models.text import VIOLATION_LABELS, normalise_text  # noqa: E402
from qc.models.training import INDEPENDENT_GROUP, load_violation_corpus  # noqa: E402
from qc.rules.calibration import calibration_files, read_utterances  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent.parent / "qc" / "models" / "data"
SEED = 20261129
HOLDOUT_EVERY = 4  # template index % HOLDOUT_EVERY == HOLDOUT_EVERY - 1 -> holdout
TRAIN_VARIANTS = 5
HOLDOUT_VARIANTS = 3

SLOTS_ZH: dict[str, list[str]] = {
    "bank": ["星海银行", "云帆银行", "青禾银行", "金桥银行", "瑞丰银行"],
    "agency": ["恒信资产", "联众催收", "启明信息", "鼎盛资产"],
    "name": ["孙先生", "马文斌", "李女士", "王大伟", "张姐", "刘建国", "陈女士", "赵磊"],
    "you": ["你", "您"],
    "relative": ["你老婆", "你爸妈", "你儿子", "你们领导", "你同事", "你邻居", "你老家的亲戚", "你女朋友"],
    "third": ["他", "她", "你们家老王", "你儿子", "你同事小李"],
    "place": ["你单位", "你公司", "你家", "你老家", "你们小区", "你孩子学校"],
    "deadline": ["今天下午五点", "今晚十二点", "两个小时", "一个小时", "今天下班前", "明天上午九点"],
    "days": ["二十三天", "三个月", "一百二十多天", "四十五天", "半年"],
    "filler": ["", "", "我跟你讲，", "说实话，", "喂，", "那个，", "哎，", "我告诉你，", "听好了，"],
    "tail": ["", "", "", "听到没有？", "你自己看着办。", "你考虑清楚。", "懂了吧？", "啊。"],
    "gonghao": ["四七一二", "零四一七", "三三八九", "一二零六"],
    "opener": ["", "", "喂，", "那个，", "我说，", "嗯，", "你听我说，"],
    "surname": ["郑", "王", "李", "刘", "陈"],
}
AMOUNTS = [(8640, "八千六百四十"), (48500, "四万八千五百"), (12000, "一万二千"), (3260, "三千二百六十"),
           (25800, "两万五千八百"), (960, "九百六十")]
SLOTS_EN: dict[str, list[str]] = {
    "name": ["Mr. Miller", "Ms. Garcia", "John", "Mrs. Chen", "Mr. Okafor", "Dana"],
    "bank": ["Harbor Bank", "Summit Credit", "Northgate Card Services", "Bluewater Bank"],
    "relative": ["your wife", "your boss", "your mother", "your neighbors", "your coworkers", "your kids' school"],
    "third": ["he", "she", "your brother", "your son", "your roommate"],
    "place": ["your job", "your office", "your house", "your workplace"],
    "deadline": ["by five today", "by midnight tonight", "within the hour", "in the next two hours", "today"],
    "filler": ["", "", "Look, ", "Listen, ", "Let me be clear, ", "Okay, ", "Honestly, "],
    "tail": ["", "", "", " Do you understand?", " Think about it.", " Got it?"],
    "opener": ["", "", "Look, ", "Well, ", "Hey, ", "Listen, "],
}

# ---- agent utterances: (labels, template) -------------------------------------------------------------
VIOLATION_TEMPLATES_ZH: dict[str, list[str]] = {
    "threat": [
        "{filler}再不还钱，我们明天就派人去{place}找{you}。{tail}",
        "{filler}{you}要是不处理，我们就把这事告诉{relative}，让大家都知道。{tail}",
        "{filler}从今天起我们天天给{you}打，打到{you}还为止。{tail}",
        "{filler}我们的人已经在{place}附近了，{you}自己掂量掂量。{tail}",
        "{filler}不还的话，我们就到{place}门口拉横幅，让{you}在那儿待不下去。{tail}",
        "{filler}我们会挨个给{relative}打电话，说{you}欠钱不还。{tail}",
        "{filler}信不信我明天就上门，堵在{place}等{you}。{tail}",
        "{filler}你要再躲，我们就去{place}找你们领导和人事谈谈。{tail}",
        "{filler}俺们可是有人的，你不还，晚上回家路上小心点。{tail}",
        "{filler}你不接电话是吧，那我就一天打几十个，打到你手机爆掉。{tail}",
        "{filler}我们会把你的照片发到{relative}的微信群里，让大伙评评理。{tail}",
        "{filler}不还钱就别想过安生日子，我们会一直上门的。{tail}",
        "{filler}你莫得钱是吧？那我们就去{place}坐着，坐到你有钱为止。{tail}",
        "{filler}我已经把地址查到了，这周就过去{place}拜访{you}。{tail}",
        "{filler}再拖一天，我就给{relative}挨个打电话，看你脸往哪儿搁。{tail}",
        "{filler}你信不信我们让你全村都晓得你欠钱不还？{tail}",
        "{filler}你再不接电话，我就直接去{place}，当着大家的面跟你算账。{tail}",
        "{filler}你家地址我们有，明天一早就有人上门敲门。{tail}",
        "{filler}我们会给你通讯录里的人一个一个打过去。{tail}",
        "{filler}你要是敢不还，我让你在{place}抬不起头来。{tail}",
        "{filler}小心点，我们的人可不是吃素的。{tail}",
        "{filler}这个月不还，{relative}那边我们就天天去坐着。{tail}",
        "{filler}别逼我们动手，到时候大家都不好看。{tail}",
        "{filler}你等着，我这就把你欠钱的事发给{relative}。{tail}",
        "{filler}今天不给个说法，晚上我们就到{place}楼下等你。{tail}",
        "{filler}你手机关机也没用，我们能找到{relative}。{tail}",
        "{filler}我们的外访人员明天就到你们村里去问问。{tail}",
        "{filler}你不还，我们就在你家门上贴欠款通知。{tail}",
        "{filler}不想让{relative}知道就赶紧还，不然我一个电话的事。{tail}",
        "{filler}你要是再敢挂我电话，我保证你在{place}待不下去。{tail}",
    ],
    "insult": [
        "{filler}你就是个老赖，借钱不还还有脸接电话？{tail}",
        "{filler}你这人怎么这么不要脸，欠钱还理直气壮的。{tail}",
        "{filler}真是个废物，这点钱都还不上。{tail}",
        "{filler}你脑子有病吧，听不懂人话是不是？{tail}",
        "{filler}像你这种骗子，活该被人看不起。{tail}",
        "{filler}你个死皮赖脸的东西，还好意思跟我讲条件。{tail}",
        "{filler}你是猪吗？跟你说了多少遍了。{tail}",
        "{filler}滚犊子，你这种人就不配借钱。{tail}",
        "{filler}你这个无赖，别跟我装可怜。{tail}",
        "{filler}一个大男人欠钱不还，丢人现眼的玩意儿。{tail}",
        "{filler}你们这种老赖我见多了，一个个都是白眼狼。{tail}",
        "{filler}你咋这么贱呢，好好说话你不听。{tail}",
        "{filler}神经病，欠钱的还有理了。{tail}",
        "{filler}真不要脸，你爸妈怎么教出你这种人。{tail}",
        "{filler}你这个赖皮，脸皮比城墙还厚。{tail}",
        "{filler}蠢货，连这都算不明白还学人借钱。{tail}",
        "{filler}你还是不是人啊，借钱的时候怎么不说没钱？{tail}",
        "{filler}跟你这种垃圾说话真是浪费时间。{tail}",
        "{filler}闭嘴，你个没出息的东西。{tail}",
        "{filler}你就是个窝囊废，一辈子也就这样了。{tail}",
        "{filler}你要点脸行不行，臭不要脸的。{tail}",
        "{filler}你这种人渣，活该没人帮你。{tail}",
        "{filler}什么玩意儿，欠钱还跟我横？{tail}",
        "{filler}脑残吧你，说了半天听不懂。{tail}",
        "{filler}你这种人活着就是浪费粮食。{tail}",
        "{filler}装什么穷，你就是个骗钱的瘪三。{tail}",
        "{filler}你个二百五，还在这跟我讲道理。{tail}",
        "{filler}真给你爹妈丢人，借钱不还的东西。{tail}",
        "{filler}你是聋了还是傻了，听不懂是吧？{tail}",
        "{filler}你个穷鬼，也配用信用卡？{tail}",
    ],
    "impersonation": [
        "{filler}我是法院的工作人员，今天是代表法院通知{you}。{tail}",
        "{filler}我们这边是市公安局经侦支队的，{you}的案子在我们手上。{tail}",
        "{filler}我现在就是代表法院执行局跟{you}通话。{tail}",
        "{filler}我是检察院的，{you}这个情况已经报到我们这里了。{tail}",
        "{filler}我是{bank}的法务律师，代表律师事务所正式通知{you}。{tail}",
        "{filler}这里是人民法院执行庭，请{you}配合我们的工作。{tail}",
        "{filler}我是派出所的民警，{you}的欠款问题我们要调查。{tail}",
        "{filler}我们是法院委派的调解员，{you}必须听我们的安排。{tail}",
        "{filler}我是金融办的，政府这边已经在关注{you}了。{tail}",
        "{filler}我是律师，现在以律师身份向{you}发出最后通牒。{tail}",
        "{filler}我是公安的，你这个属于诈骗，我们正在立案侦查。{tail}",
        "{filler}我是司法所的，代表司法机关找{you}谈话。{tail}",
        "{filler}法院执行局的同事就在我旁边，我们一起跟你说。{tail}",
        "{filler}我们是银保监派下来的专员，专门查你这种案子。{tail}",
        "{filler}本人是仲裁委的，这通电话就是正式传唤。{tail}",
        "{filler}我代表检察机关最后一次提醒{you}。{tail}",
        "{filler}我是区法院的书记员，你的传票已经出来了。{tail}",
        "{filler}我们是警方，这个电话是依法对你进行询问。{tail}",
        "{filler}我是律师事务所的主任律师，这个案子由我们代理起诉。{tail}",
        "{filler}你好，这里是公安局，请你明天来一趟。{tail}",
        "{filler}我代表人民法院跟你说，这是最后通知。{tail}",
        "{filler}我是检察官，现在对你的欠款行为进行核查。{tail}",
        "{filler}我们是政府部门派来的，专门处理你这种失信人员。{tail}",
        "{filler}我是经侦大队的警官，你的情况已经登记了。{tail}",
        "{filler}我是法院派来送达文书的，今天通知你到庭。{tail}",
        "{filler}本人是{bank}法律部的执业律师，代表银行向你追讨。{tail}",
        "{filler}我们是公安机关，你的行为涉嫌违法，需要配合调查。{tail}",
        "{filler}我这里是法院执行局，你的财产已经在我们监控之下了。{tail}",
        "{filler}我是纪委的，你单位已经把你的情况报上来了。{tail}",
        "{filler}我是你户籍所在地派出所的，专门来处理你的欠款。{tail}",
    ],
    "false_consequence": [
        "{filler}下周一正式立案，到时候直接上门抓人，{you}是要坐牢的。{tail}",
        "{filler}{you}已经上了黑名单了，以后坐不了飞机高铁。{tail}",
        "{filler}再不还，{you}孩子以后上学、考公务员都要受影响。{tail}",
        "{filler}你们全家的征信都会被拉黑，你爸妈也贷不了款。{tail}",
        "{filler}这个已经构成诈骗罪了，警察随时会来抓你。{tail}",
        "{filler}你不还钱就是犯罪，要判刑的，三年起步。{tail}",
        "{filler}明天你的银行卡、微信、支付宝都会被冻结。{tail}",
        "{filler}你的房子车子下周就会被拍卖。{tail}",
        "{filler}逾期了你的户口都要被注销，出不了门。{tail}",
        "{filler}再拖下去就要拘留你十五天。{tail}",
        "{filler}你老婆的征信也会一起黑掉，她的工作也保不住。{tail}",
        "{filler}不还的话你子女以后上不了好学校，这个是连带的。{tail}",
        "{filler}你这已经是刑事案件了，明天就发逮捕令。{tail}",
        "{filler}我们已经申请了限制出境，你哪儿都去不了。{tail}",
        "{filler}法院马上判下来，你的工资全部会被扣光。{tail}",
        "{filler}你欠的钱会变成三倍罚款，一分都少不了。{tail}",
        "{filler}你不还钱，警察明天就上门把你带走。{tail}",
        "{filler}你已经被列入失信名单了，以后孩子考大学都没资格。{tail}",
        "{filler}这个要坐牢的，少说也得判个两三年。{tail}",
        "{filler}你爸妈的养老金也会被一起冻结。{tail}",
        "{filler}再不还就按诈骗罪起诉你，要留案底的。{tail}",
        "{filler}你的征信一黑，你们一家人都别想再贷款买房。{tail}",
        "{filler}马上就要对你刑事拘留了，你自己想清楚。{tail}",
        "{filler}你名下所有财产明天就会被查封。{tail}",
        "{filler}再不还钱，你的名字会登报公示，全国都知道。{tail}",
        "{filler}你孩子以后当兵、考公都会被政审卡住。{tail}",
        "{filler}这笔钱不还，你的社保医保都会停掉。{tail}",
        "{filler}银行已经报警了，明天就有人来抓你。{tail}",
        "{filler}逾期超过三个月就是恶意透支，直接判刑。{tail}",
        "{filler}你一家三代的征信都会受影响，以后谁也贷不了款。{tail}",
    ],
    "third_party_disclosure": [
        "{filler}{third}在{bank}的信用卡欠了{amount}元，已经逾期{days}了，麻烦你转告一下。{tail}",
        "{filler}你同事借了我们{bank}的钱一直不还，欠款{amount}元。{tail}",
        "{filler}我跟你说，{third}欠了我们{amount}元，到现在一分没还。{tail}",
        "{filler}你是他家属吧，他在{bank}的贷款逾期{days}了，你们家里得管管。{tail}",
        "{filler}{third}信用卡透支了{amount}元，你让{third}赶紧还上。{tail}",
        "{filler}你告诉你们家老王，{bank}那笔{amount}元再不还就麻烦了。{tail}",
        "{filler}你儿子在我们这儿欠了钱，逾期{days}，你当家长的替他还了吧。{tail}",
        "{filler}她身份证号是多少你知道吧？她欠我们{bank}{amount}元。{tail}",
        "{filler}你作为他的领导，应该知道他欠了银行一大笔钱。{tail}",
        "{filler}麻烦您跟他说一声，他那张{bank}的卡已经欠款逾期{days}了。{tail}",
        "{filler}他欠钱的事你们公司的人都应该知道，欠了{amount}元呢。{tail}",
        "{filler}你是他邻居是吧，他欠我们银行的钱好几个月没还了。{tail}",
        "{filler}你帮她还一下吧，也就{amount}元，逾期{days}了。{tail}",
        "{filler}他的卡号尾号八八零三，欠款{amount}元，你记一下转给他。{tail}",
        "{filler}你女婿在{bank}借的消费贷一直拖着，本金加利息{amount}元。{tail}",
        "{filler}你们单位的小张欠了我们{amount}元，你当主管的说说他。{tail}",
        "{filler}你是他爱人吧，他在我们{bank}欠款{amount}元，拖了{days}了。{tail}",
        "{filler}我是{bank}的，你弟弟信用卡欠款逾期了，你让他赶紧处理。{tail}",
        "{filler}你们公司的王芳欠我们{amount}元没还，麻烦你转告她。{tail}",
        "{filler}他借钱的时候留的是你的电话，现在欠了{amount}元。{tail}",
        "{filler}你跟他是同事吧，他欠款{days}了，一直联系不上。{tail}",
        "{filler}你家里人在{bank}有一笔逾期贷款，金额是{amount}元。{tail}",
        "{filler}你老公欠我们{amount}元，你们是一家人，你得管。{tail}",
        "{filler}麻烦转告你室友，他在{bank}的欠款已经逾期{days}了。{tail}",
        "{filler}你是他姐姐吧？他信用卡欠了{amount}元，逾期{days}了，你劝劝他。{tail}",
        "{filler}我是{bank}委托的，你表弟欠我们的钱一直没还。{tail}",
        "{filler}你们部门的老刘欠银行{amount}元，你作为同事提醒他一下。{tail}",
        "{filler}他的贷款已经严重逾期了，你是他紧急联系人，得替他想办法。{tail}",
        "{filler}你爸在我们这儿有笔欠款{amount}元，逾期{days}，你们子女知道吗？{tail}",
        "{filler}转告她一下，她在{bank}的透支款{amount}元必须马上处理。{tail}",
    ],
    "pressure": [
        "{filler}{you}今天必须还清，否则后果自负。{tail}",
        "{filler}{deadline}之内把{amount}元全部打过来，少一分都不行。{tail}",
        "{filler}我不管{you}想什么办法，{deadline}之前必须全额还款。{tail}",
        "{filler}今晚十二点之前不还清，明天就给{you}升级处理。{tail}",
        "{filler}没有分期，没有商量，今天就得一次性结清。{tail}",
        "{filler}{you}去借也好去贷也好，{deadline}前钱必须到账。{tail}",
        "{filler}我只给{you}{deadline}，过了这个点谁也帮不了{you}。{tail}",
        "{filler}别跟我说没钱，今天下班前必须把钱凑齐。{tail}",
        "{filler}现在立刻马上转账，我在线上等着。{tail}",
        "{filler}你今天不还就是不想还，我们马上走下一步。{tail}",
        "{filler}这是最后期限了，{deadline}不到账你就等着吧。{tail}",
        "{filler}你去网贷平台借一笔先把我们这个还了，今天就要。{tail}",
        "{filler}你把车卖了也得今天还，别磨蹭。{tail}",
        "{filler}全额，今天，没有第二个选项。{tail}",
        "{filler}五分钟之内给我回话，今天钱必须到。{tail}",
        "{filler}不要跟我谈分期，今天必须全部还清。{tail}",
        "{filler}钱今天必须到账，明天就晚了。{tail}",
        "{filler}不管你用什么办法，今天之内全部结清。{tail}",
        "{filler}我给你半个小时，半个小时后没到账就升级。{tail}",
        "{filler}你马上去找亲戚朋友借，{deadline}之前必须还上。{tail}",
        "{filler}今天下午三点是最后时间，全部还清，没得商量。{tail}",
        "{filler}别拖了，今天必须一次性还清全部欠款。{tail}",
        "{filler}信用卡套现也好，找人借也好，今天必须全额还款。{tail}",
        "{filler}我现在就要看到钱，立刻转，不要等到明天。{tail}",
        "{filler}我不听理由，下午四点前把钱全部打进来。{tail}",
        "{filler}你就算去借高利贷，今天也要把这个窟窿补上。{tail}",
        "{filler}今天晚上八点之前，全额，一分不能少。{tail}",
        "{filler}你要么现在还清，要么等着下一步处理，自己选。{tail}",
        "{filler}我在线上等你转账，十分钟之内必须到。{tail}",
        "{filler}今天是最后一天，过了今天什么都晚了，必须全部还。{tail}",
    ],
    "none": [
        "喂，您好，我这边是{agency}的，受{bank}委托给您来电，我的工号是{gonghao}，本次通话会全程录音。",
        "{name}您好，为了保护您的信息安全，麻烦您报一下身份证号码的后四位。",
        "您名下{bank}的信用卡目前逾期{days}，欠款金额是{amount}元，您看什么时候方便处理？",
        "如果一次性还款有困难，可以向银行申请账单分期，分六期或者十二期都行。",
        "提醒您一下，逾期记录会影响个人征信，后面尽量按时还款。",
        "您这边情况我理解，我帮您登记一下协商还款的申请。",
        "我们不会去您单位，也不会联系您的家人，请您放心。",
        "我们只是受银行委托提醒还款，不是法院也不是公安。",
        "请问您是{name}本人吗？如果不是的话，麻烦您帮忙转告他回个电话。",
        "那麻烦您转告一下，请他有空给{bank}回个电话，谢谢。",
        "好的，不打扰您了，祝您生活愉快，再见。",
        "您可以申请停息挂账，具体以银行审核为准。",
        "如果您对欠款金额有异议，可以拨打{bank}客服热线核实。",
        "今天不方便的话，您看明天什么时间再联系您比较合适？",
        "分期手续费以银行短信通知为准，您按提示回复就可以了。",
        "我们这边不会催您今天必须还清，您按自己的能力来安排。",
        "这不是威胁，只是把逾期的影响跟您讲清楚。",
        "您说的情况我记下了，会反馈给银行，看能不能减免一部分利息。",
        "咱们这边就是提醒一下，您啥时候方便还，给个大概时间就成。",
        "没关系，您先忙，晚点我再给您打过来。",
        "您放心，您的信息我们是保密的，不会告诉别人。",
        "好的，那我这边帮您提交分期申请，稍后会有短信确认。",
        "您的还款日是每月五号，最低还款额是{amount}元。",
        "请问您方便现在说话吗？是关于{bank}账户的事情。",
        "不好意思打扰了，我们核实一下联系方式，谢谢配合。",
        "您要是觉得我们的服务有问题，可以向银行反映。",
        "逾期不会影响孩子上学，这个您不用担心，就是个人征信会有记录。",
        "我们不是律师，也不代表法院，只负责跟您沟通还款方案。",
        "还款以后记得保留凭证，有问题随时联系我们。",
        "嗯嗯，理解的，最近大家手头都紧，咱们慢慢商量。",
        "您今天能还一部分也可以，剩下的我们再约时间。",
        "如果走诉讼是银行来决定的，我们这边只是如实告知流程。",
        "您好，我是{agency}的客服专员，工号{gonghao}，受{bank}委托，通话全程录音。",
        "核对无误，谢谢您。是这样的，您在{bank}的贷款这个月还没有还。",
        "如果您现在有困难，我们可以帮您申请延期还款。",
        "您可以先还一部分，剩余的我们帮您申请分期。",
        "我们这边只是提醒，具体的还款安排您可以和银行协商。",
        "如果长期不还，银行可能会通过法律途径处理，这个需要您了解一下。",
        "您不用担心，我们不会把这件事告诉您的家人和同事。",
        "不好意思，请问这是{name}的电话吗？麻烦让他回个电话给{bank}。",
        "{name}您好，我是{agency}的，工号{gonghao}，受{bank}委托联系您，通话会录音。",
        "您这个月的最低还款额是{amount}元，您看能不能先把最低还款还上？",
        "如果您对账单有疑问，可以到{bank}网点或者拨打客服核实。",
        "我们这边可以帮您申请个性化分期，需要您提供一下收入情况。",
        "请您放心，我们只跟您本人沟通欠款的事情，不会联系其他人。",
        "那您看下周一之前能不能先还一部分？我帮您备注一下。",
    ],
}

VIOLATION_TEMPLATES_EN: dict[str, list[str]] = {
    "threat": [
        "{filler}If you don't pay, we'll send someone to {place} tomorrow.{tail}",
        "{filler}We're going to call {relative} and tell them all about this.{tail}",
        "{filler}We will keep calling you every single day until you pay.{tail}",
        "{filler}I know where you live, and our people can be there tonight.{tail}",
        "{filler}Keep ignoring us and we'll show up at {place} in person.{tail}",
        "{filler}I'll make sure everyone at {place} knows you don't pay your debts.{tail}",
        "{filler}You better watch your back if this isn't paid.{tail}",
        "{filler}We'll be calling {relative} until somebody pays this.{tail}",
        "{filler}We have people in your area who can stop by {place}.{tail}",
        "{filler}I'm going to make sure {relative} hears about this tonight.{tail}",
        "{filler}You don't want us to come to {place}, trust me.{tail}",
        "{filler}We'll call you fifty times a day if that's what it takes.{tail}",
        "{filler}Pay up or we'll be knocking on your door tonight.{tail}",
        "{filler}Ignore me again and I'll be calling your employer first thing tomorrow.{tail}",
        "{filler}We're going to tell everyone at {place} that you're a debtor.{tail}",
        "{filler}Something bad could happen if this stays unpaid, just saying.{tail}",
    ],
    "insult": [
        "{filler}You're a deadbeat, plain and simple.{tail}",
        "{filler}What kind of loser doesn't pay his bills?{tail}",
        "{filler}You're pathetic, stop whining.{tail}",
        "{filler}Are you stupid or just a liar?{tail}",
        "{filler}Shut up, you worthless idiot.{tail}",
        "{filler}People like you are scum, honestly.{tail}",
        "{filler}You're a lowlife who steals from the bank.{tail}",
        "{filler}Stop acting like a moron and listen.{tail}",
        "{filler}You're a freeloader and everybody knows it.{tail}",
        "{filler}Grow up, you irresponsible clown.{tail}",
        "{filler}You're nothing but a cheat and a liar.{tail}",
        "{filler}What a joke you are, seriously.{tail}",
        "{filler}You worthless deadbeat, pay your bills.{tail}",
        "{filler}Only an idiot would run up a card like that.{tail}",
        "{filler}You're a disgrace, you know that?{tail}",
        "{filler}Quit whining like a baby and pay.{tail}",
    ],
    "impersonation": [
        "{filler}This is Officer Brown from the sheriff's department.{tail}",
        "{filler}I'm calling from the district attorney's office about your case.{tail}",
        "{filler}I am an attorney and this is a formal legal notice.{tail}",
        "{filler}This is the county court calling regarding your summons.{tail}",
        "{filler}I'm with the police fraud unit, we're investigating your account.{tail}",
        "{filler}I work for the IRS and we're handling your file.{tail}",
        "{filler}This call is from the state attorney general's office.{tail}",
        "{filler}I'm a federal agent assigned to your debt.{tail}",
        "{filler}I'm calling from the courthouse, you have been served.{tail}",
        "{filler}This is Detective Ramos with the county police.{tail}",
        "{filler}I'm with the legal department and I'm an officer of the court.{tail}",
        "{filler}This is a call from the federal government regarding your debt.{tail}",
        "{filler}I'm a process server with the county sheriff and I have papers for you.{tail}",
        "{filler}This is attorney Mark Davis, I represent the court in this matter.{tail}",
        "{filler}You're speaking with an investigator from the state police.{tail}",
        "{filler}We're calling from the Department of Justice about your account.{tail}",
    ],
    "false_consequence": [
        "{filler}If you don't pay you will be arrested this week.{tail}",
        "{filler}You're going to jail for this, it's fraud.{tail}",
        "{filler}We'll garnish your wages tomorrow morning.{tail}",
        "{filler}Your whole family's credit will be ruined.{tail}",
        "{filler}We will seize your house and your car next week.{tail}",
        "{filler}Not paying a credit card is a crime, you'll be prosecuted.{tail}",
        "{filler}Your kids won't be able to get student loans because of you.{tail}",
        "{filler}A warrant will be issued for your arrest.{tail}",
        "{filler}The police will pick you up at {place} if this isn't settled.{tail}",
        "{filler}You'll lose your driver's license and your passport over this.{tail}",
        "{filler}This goes on your permanent criminal record.{tail}",
        "{filler}Your spouse will be held responsible and sued too.{tail}",
        "{filler}If this isn't paid you'll be in handcuffs by Friday.{tail}",
        "{filler}We will take your house, your car, everything, starting Monday.{tail}",
        "{filler}Your children will have to pay this debt if you don't.{tail}",
        "{filler}Skipping this payment is a felony, you could do prison time.{tail}",
    ],
    "third_party_disclosure": [
        "{filler}{third} owes {amount_en} on a {bank} credit card and is three months behind.{tail}",
        "{filler}Can you tell {third} that the debt with {bank} is past due?{tail}",
        "{filler}I'm calling because {third} hasn't paid the {amount_en} balance.{tail}",
        "{filler}Your neighbor owes us money and we can't reach him.{tail}",
        "{filler}As his employer you should know he owes {amount_en} in credit card debt.{tail}",
        "{filler}Tell {third} the overdue loan balance is {amount_en}.{tail}",
        "{filler}{third} is in default on the {bank} account, the balance is {amount_en}.{tail}",
        "{filler}Please let your brother know his debt with us is seriously delinquent.{tail}",
        "{filler}I'm trying to reach {third} about an unpaid {bank} balance of {amount_en}.{tail}",
        "{filler}Your son's credit card is in collections for {amount_en}.{tail}",
        "{filler}Tell your husband his loan is ninety days past due.{tail}",
        "{filler}She owes our client {amount_en} and hasn't made a payment.{tail}",
        "{filler}Your daughter has an overdue credit card with us, about {amount_en}.{tail}",
        "{filler}Could you remind your coworker that his {bank} loan is delinquent?{tail}",
        "{filler}Your father fell behind on his {bank} payments, the balance is {amount_en}.{tail}",
        "{filler}As her landlord you should know she owes {amount_en} on a past-due account.{tail}",
    ],
    "pressure": [
        "{filler}You have to pay the full balance {deadline} or else.{tail}",
        "{filler}No payment plans, it's all or nothing {deadline}.{tail}",
        "{filler}I need the entire amount {deadline}, no excuses.{tail}",
        "{filler}Borrow it from someone, I need it paid {deadline}.{tail}",
        "{filler}This is your last chance, pay everything {deadline}.{tail}",
        "{filler}Stay on the line and make the full payment right now.{tail}",
        "{filler}Sell something if you have to, the money is due {deadline}.{tail}",
        "{filler}There's no more time, pay in full {deadline} or we escalate.{tail}",
        "{filler}I need a payment for the full {amount_en} {deadline}.{tail}",
        "{filler}Pay it all {deadline} or I can't help you anymore.{tail}",
        "{filler}Put it on a credit card if you have to, but pay it {deadline}.{tail}",
        "{filler}You've got until the end of the day, full balance, period.{tail}",
        "{filler}No, a partial payment isn't good enough, I need everything {deadline}.{tail}",
        "{filler}Get the money from your family and pay {deadline}.{tail}",
        "{filler}This offer ends when we hang up, pay the full amount now.{tail}",
        "{filler}I'm not hanging up until you pay the whole balance.{tail}",
    ],
    "none": [
        "Hi, this is Sam from Harbor Recovery calling on behalf of {bank}; this call is recorded.",
        "This is an attempt to collect a debt and any information obtained will be used for that purpose.",
        "Can you confirm your date of birth before we discuss the account?",
        "The current past-due amount on your {bank} card is {amount_en}.",
        "We can set up a payment plan over six or twelve months if that helps.",
        "Late payments may be reported to credit bureaus and can affect your credit score.",
        "We will not contact your employer about this.",
        "I'm not an attorney and I'm not calling from a court.",
        "If {name} isn't available, could you ask him to call us back?",
        "Thanks for your time, have a good day.",
        "If you dispute the amount you can send us a written dispute.",
        "Is now a good time to talk, or should I call back later?",
        "I understand things are tight, we can work out something affordable.",
        "You can pay any amount today and we'll schedule the rest.",
        "This is not a threat, I just want you to know your options.",
        "Please keep the receipt after you make the payment.",
        "Could you please verify the last four digits of your social?",
        "We can lower the monthly amount if you send us proof of income.",
        "I'll note that you prefer calls in the evening.",
        "If this is not a good time, when should I call back?",
        "I'm calling from Harbor Recovery, a debt collector, about your {bank} account.",
        "You have the right to dispute this debt within thirty days.",
        "Would a smaller payment each month work better for you?",
        "I'll send you a letter with the details of the agreement.",
    ],
}

# ---- customer utterances: (emotion, complaint_intent, template) ------------------------------------------
EMOTION_TEMPLATES_ZH: list[tuple[str, bool, str]] = [
    ("angry", False, "你们有病吧，一天打八百遍，烦不烦啊！"),
    ("angry", False, "别再打了！我说了月底还，听不懂吗？"),
    ("angry", False, "凭什么这么跟我说话？你什么态度！"),
    ("angry", False, "你再骂一句试试？你算老几啊！"),
    ("angry", False, "滚，别给我打电话了！"),
    ("angry", False, "你们这是骚扰，知道吗？骚扰！"),
    ("angry", False, "我已经还了一部分了，你们还天天催，有完没完！"),
    ("angry", False, "你吼什么吼？欠钱又不是犯法！"),
    ("angry", False, "搞啥子嘛，大半夜的打电话，脑壳有包啊！"),
    ("angry", False, "给我老板打电话？你们太过分了！"),
    ("angry", False, "少拿法院吓唬我，我不吃这一套！"),
    ("angry", False, "你们这帮人就是土匪，气死我了！"),
    ("angry", True, "我要投诉你们，你叫什么名字，工号多少？"),
    ("angry", True, "行，我现在就打一二三七八投诉你们！"),
    ("angry", True, "你等着，我去银保监会告你们！"),
    ("angry", True, "我要把你们这种催收方式曝光到网上！"),
    ("angry", True, "我马上打12378，你们等着被处理吧！"),
    ("angry", True, "你们这样搞，我明天就去银行投诉，还要找媒体曝光你们！"),
    ("angry", True, "再打我就报警，顺便去金融监管局投诉你们！"),
    ("angry", True, "我已经录音了，这就发抖音曝光你们！"),
    ("angry", True, "我要举报你们暴力催收，找银保监！"),
    ("angry", True, "我要去消协和银保监两边都投诉，你们等着吧！"),
    ("distressed", False, "我真的没钱了，求求你们再宽限几天吧。"),
    ("distressed", False, "我被公司裁了，到现在都没找到工作，家里还有老人要养。"),
    ("distressed", False, "我老婆在住院，手里就几百块钱，我该怎么办啊。"),
    ("distressed", False, "求你们先别起诉我，我再去找亲戚借借看。"),
    ("distressed", False, "我不是不想还，是真的还不上，晚上都睡不着觉。"),
    ("distressed", False, "我压力好大，都不知道怎么活下去了。"),
    ("distressed", False, "能不能少还一点，我孩子下个月还要交学费。"),
    ("distressed", False, "我一个人带孩子，实在是撑不住了，呜呜。"),
    ("distressed", False, "我生病了一直在吃药，没法上班，你们别逼我了。"),
    ("distressed", False, "大清早的打电话，我整晚没睡，头疼得厉害，求你们了。"),
    ("distressed", False, "俺家里真的揭不开锅了，能不能缓一缓。"),
    ("distressed", False, "我现在脑子一片空白，真不知道怎么办。"),
    ("distressed", False, "拜托了，别告诉我家里人，我会想办法的。"),
    ("distressed", False, "我生意赔光了，现在到处欠钱，真的很绝望。"),
    ("distressed", True, "你们再这样逼我，我只能去银保监投诉了，我真的没办法了。"),
    ("distressed", True, "我实在受不了了，我要打12378反映一下，求你们别这样。"),
    ("calm", False, "嗯，对，我是，你说。"),
    ("calm", False, "后四位啊，二六一九。"),
    ("calm", False, "分六期的话，每个月大概要还多少？"),
    ("calm", False, "行，那就分六期吧，怎么弄？"),
    ("calm", False, "好，知道了，谢谢啊。"),
    ("calm", False, "我月底发工资了就还，应该没问题。"),
    ("calm", False, "他不在家，我帮你转告一下吧。"),
    ("calm", False, "好的，我记下了，回头让他给你们回电话。"),
    ("calm", False, "停息挂账要怎么申请？需要什么材料？"),
    ("calm", False, "我上周已经还了两千，你们查一下。"),
    ("calm", False, "嗯嗯，晓得了，下礼拜我去趟银行。"),
    ("calm", False, "那我先还最低还款额可以吗？"),
    ("calm", False, "你们客服电话是多少？我想核对一下金额。"),
    ("calm", False, "不用投诉，我就是想问清楚利息怎么算的。"),
    ("calm", False, "我不会去投诉的，你们按流程来就行。"),
    ("calm", False, "好的，明天上午我把钱转过去。"),
    ("calm", False, "哦，这个我知道，最近忙忘了，这两天就还。"),
    ("calm", False, "对，是我，请问有什么事？"),
    ("calm", False, "你稍等一下，我找个安静的地方说。"),
    ("calm", False, "那利息能不能少一点？我想一次性还清。"),
    ("calm", False, "嗯，我明白，逾期会影响征信是吧。"),
    ("calm", False, "可以啊，你把还款账号发我短信上。"),
    ("calm", False, "他是我表哥，我有空跟他说一声。"),
    ("calm", False, "行吧，那我下周三之前还五千。"),
    ("calm", False, "现在不太方便，你下午再打过来吧。"),
    ("calm", False, "好嘞，没问题，谢谢你提醒。"),
    ("angry", False, "你们是不是有毛病？我都说了在想办法了！"),
    ("angry", False, "你这什么态度，说话客气点！"),
    ("angry", False, "打我单位去？你们试试看！"),
    ("angry", False, "我受够了，你们天天这样骚扰我家人！"),
    ("angry", True, "好啊，你这么说是吧，我马上去投诉你！"),
    ("angry", True, "我告诉你，这通电话我录下来了，我要曝光你们！"),
    ("distressed", False, "我也想还啊，可是真的一分钱都拿不出来了。"),
    ("distressed", False, "孩子还在医院，我实在顾不上，求求你了。"),
    ("distressed", False, "我这段时间天天失眠，都快崩溃了。"),
    ("distressed", False, "能不能别这样，我已经很努力在还了，呜。"),
    ("distressed", False, "我妈刚走，家里一团乱，真的没办法。"),
    ("distressed", False, "我一听到电话响就害怕，心里特别慌。"),
    ("calm", False, "对，卡是我的，这个月确实忘了还。"),
    ("calm", False, "你说的金额是{amount}元对吧？我核对一下。"),
    ("calm", False, "我现在在上班，晚上七点以后再打可以吗？"),
    ("calm", False, "{bank}的那张卡是吧，我知道，周五之前还上。"),
    ("calm", False, "嗯，可以，分十二期每个月多少钱？"),
    ("calm", False, "我已经在手机银行上还了，你们刷新一下看看。"),
    ("calm", False, "那我先还一半，剩下的下个月还，可以吧？"),
    ("calm", False, "好的好的，我明白了，谢谢提醒。"),
    ("calm", False, "请问是哪家银行委托的？我核实一下。"),
    ("calm", False, "哦，他是我同事，我跟他说一声让他回电话。"),
    ("calm", False, "你把具体金额和还款账户发短信给我吧。"),
    ("calm", False, "这个我了解了，我跟家里商量一下再回复你。"),
    ("angry", False, "你们烦不烦啊，一天打好几个，我在开会！"),
    ("angry", False, "你凭什么给我单位打电话？谁给你的权利？"),
    ("angry", False, "别跟我来这套，我不怕你们！"),
    ("angry", False, "你们这是敲诈，知不知道！"),
    ("angry", True, "你这种态度，我一定要投诉到底！"),
    ("angry", True, "我已经截图录音了，明天就去银保监举报你们！"),
    ("distressed", False, "我真的不知道该怎么办了，家里全靠我一个人。"),
    ("distressed", False, "我最近身体不好，住了半个月院，钱都花光了。"),
    ("distressed", False, "你们别给我爸妈打电话好不好，他们身体不好，我求你了。"),
    ("distressed", False, "我已经借遍了亲戚朋友，实在借不到了。"),
    ("distressed", False, "每天都被催，我整个人都快撑不下去了。"),
    ("calm", True, "我想问一下，你们这样打电话合规吗？我打算向12378咨询投诉。"),
    ("calm", True, "这个金额不对，我会向银保监会反映的，请你们核实。"),
    ("calm", True, "你们的做法不合规，我会按程序投诉到一二三七八。"),
    ("calm", True, "我会正式向银行投诉这次通话，请记录一下。"),
    ("calm", True, "麻烦你把工号告诉我，我要投诉。"),
]
EMOTION_TEMPLATES_EN: list[tuple[str, bool, str]] = [
    ("angry", False, "Stop calling me, I told you I'd pay at the end of the month!"),
    ("angry", False, "Don't you dare talk to me like that!"),
    ("angry", False, "This is harassment, you people are unbelievable!"),
    ("angry", False, "Why are you calling my boss? Are you crazy?"),
    ("angry", True, "I'm filing a complaint with the CFPB about you."),
    ("angry", True, "I'm reporting you to the attorney general, what's your name?"),
    ("angry", True, "I'll report this company to the Better Business Bureau today!"),
    ("angry", True, "I'm recording this and I'm going to file a complaint against you!"),
    ("distressed", False, "I lost my job and I really can't pay right now, please."),
    ("distressed", False, "My husband is in the hospital, I don't know what to do."),
    ("distressed", False, "Please, I'm begging you, give me a few more weeks."),
    ("distressed", False, "I can't sleep, I'm so stressed about this debt."),
    ("distressed", False, "I'm barely holding it together, please don't tell my family."),
    ("calm", False, "Yes, this is she, go ahead."),
    ("calm", False, "How much would each monthly payment be?"),
    ("calm", False, "Okay, I can pay two hundred on Friday."),
    ("calm", False, "He's not home, I'll pass the message along."),
    ("calm", False, "Can you send me that in writing please?"),
    ("calm", False, "I'm not going to complain, I just want the payoff amount."),
    ("calm", False, "Sure, what's the balance on the account right now?"),
    ("calm", False, "I get paid on the fifteenth, I can pay then."),
    ("calm", False, "Can you tell me which bank this is about?"),
    ("calm", False, "Alright, let's set up the six month plan."),
    ("calm", False, "I already paid last week, please check your records."),
    ("angry", False, "I'm sick of these calls, leave me alone!"),
    ("angry", True, "You'll be hearing from the CFPB, I'm filing a complaint tonight."),
    ("distressed", False, "I don't know how I'm going to feed my kids this month."),
    ("distressed", False, "I've been crying all week, I just can't handle this."),
    ("calm", True, "Please note that I'll be submitting a complaint to the consumer bureau."),
    ("calm", True, "I'd like to file a formal complaint about the last call."),
]


# ---- paraphrase families (issue 13 item 6): what the first templates did not cover ----------------------
# Each family: (name, language, label, what it covers, templates). Labels belong to the template as above; every
# fourth template of a family is held out. Hard-negative families are labelled `none`.
FAMILIES: list[tuple[str, str, str, str, list[str]]] = [
    ("implicit-threat", "zh", "threat", "threats that name no act: family, children's school, home, 'another way'", [
        "{filler}{you}孩子在哪个学校上学，我们都清楚。{tail}",
        "{filler}你们家住几栋几单元，我们都打听好了。{tail}",
        "{filler}{you}爸妈年纪也大了，别让他们跟着受罪。{tail}",
        "{filler}再不还，我们只能换一种方式跟{you}谈了。{tail}",
        "{filler}我们知道{you}每天几点下班、走哪条路。{tail}",
        "{filler}{you}老婆在哪儿上班，我们也查到了。{tail}",
        "{filler}到时候来找{you}的可就不是我了。{tail}",
        "{filler}{you}晚上出门最好留个心眼。{tail}",
        "{filler}别等我们的人找上门，那时候就不好说话了。{tail}",
        "{filler}{you}孩子放学是自己走回家的吧？{tail}",
        "{filler}{you}总不想让{relative}接到我们的电话吧。{tail}",
        "{filler}你家楼下那个超市，我们同事经常去。{tail}",
        "{filler}咱们还是见一面当面聊吧，地址我们有。{tail}",
        "{filler}你要是再躲，后面会发生什么我可不敢保证。{tail}",
        "{filler}我们已经掌握{you}全家的情况了，你好好想想。{tail}",
        "{filler}你不要脸，你家里人总还要脸吧。{tail}",
    ]),
    ("implicit-threat", "en", "threat", "threats that name no act: family, children's school, home, 'another way'", [
        "{filler}We know which building you live in.{tail}",
        "{filler}Your kids go to the school on Maple Street, right?{tail}",
        "{filler}It would be a shame if your mother had to hear about this.{tail}",
        "{filler}If you won't talk to me, we'll have to handle this another way.{tail}",
        "{filler}We know what time you get off work.{tail}",
        "{filler}Next time it won't be me who comes to see you.{tail}",
        "{filler}I'd be careful walking home at night if I were you.{tail}",
        "{filler}Your wife works at the pharmacy downtown, doesn't she?{tail}",
    ]),
    ("euphemistic-impersonation", "zh", "impersonation",
     "impersonating institutions without 公安/法院: investigation units, judicial-assistance centres, mandates", [
        "{filler}我们这边是司法协助中心的，负责处理{you}的案件。{tail}",
        "{filler}我是金融纠纷调查组的，现在依法对{you}进行调查。{tail}",
        "{filler}检察院已经委托我们来处理{you}这个事情。{tail}",
        "{filler}我们是经济犯罪调查科的，请{you}配合工作。{tail}",
        "{filler}我是法院委派的执行专员，今天正式通知{you}。{tail}",
        "{filler}这边是民事调解委员会，代表司法机关跟{you}谈。{tail}",
        "{filler}我们受公安机关委托，核实{you}的情况。{tail}",
        "{filler}我是互联网金融仲裁中心的办案人员。{tail}",
        "{filler}我们是省金融监管专班的，专门查逃废债。{tail}",
        "{filler}我是案件调查专员，编号{gonghao}，{you}的案子归我管。{tail}",
        "{filler}这里是失信被执行人核查办公室。{tail}",
        "{filler}我们是征信管理中心的，专门处理{you}这种逾期。{tail}",
    ]),
    ("euphemistic-impersonation", "en", "impersonation",
     "impersonating institutions without naming police or court: investigation units, 'judicial assistance'", [
        "{filler}This is the judicial assistance center handling your case.{tail}",
        "{filler}I'm an investigator with the financial crimes unit.{tail}",
        "{filler}We've been appointed by the prosecutor's office to resolve this.{tail}",
        "{filler}This is the enforcement division calling about your warrant.{tail}",
        "{filler}I'm with the county investigations office.{tail}",
        "{filler}I'm calling on behalf of the court as an enforcement officer.{tail}",
        "{filler}This is the state compliance bureau, your case has been escalated to us.{tail}",
        "{filler}I'm a legal officer assigned to your file by the state.{tail}",
    ]),
    ("veiled-false-consequence", "zh", "false_consequence",
     "false consequences without 坐牢/黑名单: children's exams and careers, every card frozen, 'no longer civil'", [
        "{filler}{you}孩子以后高考、考研都会受影响。{tail}",
        "{filler}明天{you}名下所有的银行卡都会被冻结。{tail}",
        "{filler}这已经不是民事纠纷了，性质已经变了。{tail}",
        "{filler}{you}这个已经涉嫌刑事了，后果自己清楚。{tail}",
        "{filler}{you}单位会收到通知，到时候工作也保不住。{tail}",
        "{filler}{you}家里人以后坐车出行都会受限制。{tail}",
        "{filler}{you}的房子下个礼拜就会被强制拍卖。{tail}",
        "{filler}以后{you}孩子考公务员，政审肯定过不去。{tail}",
        "{filler}{you}的微信支付宝明天就全部冻结。{tail}",
        "{filler}{you}这属于恶意逃废债，要追究刑事责任的。{tail}",
        "{filler}{you}的手机号马上会被停机，全国联网。{tail}",
        "{filler}不还的话，{you}的社保和公积金都会被扣掉。{tail}",
    ]),
    ("veiled-false-consequence", "en", "false_consequence",
     "false consequences without arrest or jail: children's college, every account frozen, 'not civil anymore'", [
        "{filler}Your kids won't get into college with this on your record.{tail}",
        "{filler}Every bank account you have will be frozen tomorrow.{tail}",
        "{filler}This isn't a civil matter anymore.{tail}",
        "{filler}Your employer will be notified and you'll lose your job.{tail}",
        "{filler}Your passport will be flagged and you won't be able to travel.{tail}",
        "{filler}This is now considered theft by deception.{tail}",
        "{filler}You'll never be able to rent an apartment again.{tail}",
        "{filler}Your social security benefits will be stopped over this.{tail}",
    ]),
    ("disclosure-to-family-and-friends", "zh", "third_party_disclosure",
     "the debt, its amount or its delay told to a spouse, sibling or friend, also without 欠款/逾期", [
        "{filler}你是他老婆吧，他在我们这儿还有{amount}元没处理。{tail}",
        "{filler}麻烦你跟你先生说，他那张卡已经{days}没还了。{tail}",
        "{filler}你是她朋友对吧，她借的钱到现在还没还上。{tail}",
        "{filler}你们是一家人，他在{bank}那笔{amount}元你心里得有数。{tail}",
        "{filler}你跟她关系好，劝劝她把{bank}的账结了。{tail}",
        "{filler}你是他哥吧，他这个贷款已经拖了{days}了。{tail}",
        "{filler}你替我转告他，{bank}那边的账已经压了{days}。{tail}",
        "{filler}他借钱这事你们家里人知道吗？{amount}元呢。{tail}",
    ]),
    ("disclosure-to-family-and-friends", "en", "third_party_disclosure",
     "the debt, its amount or its delay told to a spouse, sibling or friend", [
        "{filler}Are you his wife? He still has {amount_en} outstanding with us.{tail}",
        "{filler}Tell your husband his card hasn't been paid in three months.{tail}",
        "{filler}You're her friend, right? She never paid back her loan.{tail}",
        "{filler}Your brother borrowed {amount_en} from {bank} and stopped paying.{tail}",
        "{filler}Could you let your roommate know his account with {bank} is behind?{tail}",
    ]),
    ("insult-without-profanity", "zh", "insult", "contempt and humiliation without swear words", [
        "{filler}{you}这种人也好意思借钱？{tail}",
        "{filler}活了这么大岁数，连这点钱都还不上。{tail}",
        "{filler}{you}脸皮可真够厚的。{tail}",
        "{filler}{you}这辈子也就这样了。{tail}",
        "{filler}真替{you}父母感到丢人。{tail}",
        "{filler}跟{you}说话真费劲，一点廉耻心都没有。{tail}",
        "{filler}像{you}这种没信用的人，谁会信你。{tail}",
        "{filler}{you}还算个男人吗？{tail}",
        "{filler}{you}是不是脑子不太好使？{tail}",
        "{filler}{you}这样活着有什么意思。{tail}",
        "{filler}借钱的时候挺能耐，还钱就装孙子。{tail}",
        "{filler}{you}这种人我见多了，一点出息都没有。{tail}",
    ]),
    ("insult-without-profanity", "en", "insult", "contempt and humiliation without swear words", [
        "{filler}You should be ashamed of yourself.{tail}",
        "{filler}People like you are the reason rates go up.{tail}",
        "{filler}Are you even an adult?{tail}",
        "{filler}Honestly, you're a disappointment.{tail}",
        "{filler}Do you have any self-respect at all?{tail}",
        "{filler}I can't believe someone could be this irresponsible.{tail}",
        "{filler}What kind of parent doesn't pay their bills?{tail}",
        "{filler}You're a grown man acting like a child.{tail}",
    ]),
    ("implicit-pressure", "zh", "pressure", "pay-now demands without 必须/今天: staying on the line, 'right now'", [
        "{filler}我就在线上等着，{you}现在去转。{tail}",
        "{filler}这个钱无论如何今天都要到账。{tail}",
        "{filler}别跟我说明天，就现在。{tail}",
        "{filler}{you}现在挂了电话就去借，一个小时后我再打给{you}。{tail}",
        "{filler}没有商量的余地，{amount}元一次性打过来。{tail}",
        "{filler}{you}不转我就不挂，咱们耗着。{tail}",
        "{filler}给{you}十分钟，钱到账了再说别的。{tail}",
        "{filler}分期不可能，全款，马上。{tail}",
    ]),
    ("implicit-pressure", "en", "pressure", "pay-now demands: staying on the line, 'right now'", [
        "{filler}I'll stay on the line while you transfer it.{tail}",
        "{filler}It has to be today, no matter what.{tail}",
        "{filler}Don't tell me tomorrow, I mean right now.{tail}",
        "{filler}Hang up, borrow the money, and call me back within the hour.{tail}",
        "{filler}No installments, the full amount, now.{tail}",
    ]),
    ("lawful-and-negated", "zh", "none",
     "hard negatives: negations, lawful 征信/诉讼 statements, debt talk with the debtor, polite referrals", [
        "我们不会起诉您，也不会上门，请您放心。",
        "逾期记录会按规定如实报送征信，这个需要跟您说明。",
        "如果长期不还，银行有权依法提起诉讼，这个需要您了解一下。",
        "只有法院判决以后才可能强制执行，目前并没有。",
        "{name}，您本人的欠款是{amount}元，已经逾期{days}。",
        "我们不是法院也不是公安，只是受{bank}委托提醒您还款。",
        "您孩子上学不会受影响，这个您放心。",
        "我们不会联系您的家人，也不会打到您单位。",
        "您今天能还多少就还多少，不用一次还清。",
        "您要投诉的话，可以拨打{bank}的客服热线。",
        "不好意思，这个事只能跟本人说，麻烦您让他回个电话。",
        "您的情况我理解，咱们可以协商分期。",
        "您说我们威胁您，我们绝对没有这个意思。",
        "您可以咨询律师，这是您的权利。",
        "您放心，您的信息我们会保密，不会告诉别人。",
        "还款以后征信上会显示已结清。",
    ]),
    ("openings-and-closings", "zh", "none",
     "hard negatives: the commonest agent turns of every call (greetings, identity checks, thanks, goodbyes)", [
        "喂，你好，是{name}吧？",
        "喂，请问是{name}本人吗？",
        "你好，我找一下{name}。",
        "好的，谢谢，再见。",
        "不客气，您多保重，再见。",
        "嗯，好的，那就先这样。",
        "那我过两天再跟您联系。",
        "您先忙，我晚点再打过来。",
        "好的，我记下了。",
        "嗯嗯，您说。",
        "对，是这样的。",
        "您稍等，我查一下。",
    ]),
    ("verify-and-follow-up", "zh", "none",
     "hard negatives: identity checks and the follow-up a firm but lawful agent ends on (no deadline of hours, "
     "no borrowing)", [
        "麻烦您报一下身份证后四位，我核对一下身份。",
        "为了确认是您本人，请您说一下身份证号后四位。",
        "{opener}您身份证后四位是多少？我这边核实一下。",
        "那您先准备一下，我下午再给您打过来。",
        "那就等您消息，您想好了给我们回个电话。",
        "钱准备好了您随时打这个号码，我帮您登记入账。",
        "那我明天上午再打给您，看看您这边的情况。",
        "{opener}您也上点心，尽早把这笔处理了，有困难随时跟我们说。",
        "我们也是按流程提醒您，方便的时候尽快还上。",
        "好，那您那边安排好了跟我说一声，我给您查一下到账。",
        "您先跟家里商量一下还款计划，我们周五再联系。",
        "核对一下，您预留的手机号尾号是{gonghao}吗？",
    ]),
    ("relay-a-message", "zh", "none",
     "hard negatives: what CN-04 allows with a third party: asking them to pass on a message, leaving a number", [
        "麻烦您转告他，{agency}的工作人员找他，让他回个电话。",
        "您就跟她说{agency}的同事找她，她回拨这个号码就行。",
        "那麻烦您跟他说一声，有空给我们回个电话，谢谢。",
        "不好意思，涉及他本人的事，我们只能跟他本人说。",
        "您方便的话帮忙转达一下，就说{agency}找他有点事。",
        "他回来以后请他打这个号码找我，我姓{surname}。",
        "没关系，那我们改天再联系他本人。",
        "请问您能帮我们联系上他吗？让他回个电话就行。",
    ]),
    ("relay-a-message", "en", "none",
     "hard negatives: what the FDCPA allows with a third party: asking them to pass on a message", [
        "Could you ask him to call us back at this number?",
        "Please let her know that someone from our office called.",
        "I can only discuss this with him directly, thank you.",
        "When he's back, could you have him return my call?",
        "No problem, we'll try to reach her another time.",
    ]),
    ("openings-and-closings", "en", "none",
     "hard negatives: the commonest agent turns of every call (greetings, identity checks, thanks, goodbyes)", [
        "Hi, is this {name}?",
        "Hello, may I speak with {name}?",
        "Okay, thank you, goodbye.",
        "No problem, take care.",
        "I'll call you back in a couple of days.",
        "Sure, go ahead.",
        "Let me check that for you.",
        "Alright, I've made a note of it.",
    ]),
    ("verify-and-follow-up", "en", "none",
     "hard negatives: identity checks and the follow-up a firm but lawful agent ends on (no deadline of hours, "
     "no borrowing)", [
        "Before we go on, can you verify the last four of your Social?",
        "Just to confirm I'm speaking with the right person, what's your date of birth?",
        "Okay, I'll give you a call back Thursday to see where things are.",
        "Take a look at your budget and call us back when you're ready.",
        "Once you have the funds together, call this number and we'll post it.",
        "Talk it over at home and let me know what plan works for you.",
        "Let's touch base next week and see how you're doing.",
        "I'd encourage you to take care of it when you can; call us if anything changes.",
    ]),
    ("lawful-and-negated", "en", "none",
     "hard negatives: negations, lawful credit-reporting and legal statements, debt talk with the debtor", [
        "We will not sue you or contact your employer.",
        "Late payments may be reported to the credit bureaus.",
        "If the account stays unpaid the creditor may consider legal options, but nothing has been filed.",
        "I'm not an attorney and this is not a legal notice.",
        "Your balance is {amount_en}, and you can pay it in installments.",
        "I can only discuss this with the account holder, could you ask him to call us back?",
        "Nobody is going to come to your house.",
        "You have the right to consult a lawyer about this.",
    ]),
]

# ---- ASR noise: what Whisper writes --------------------------------------------------------------------------
TRADITIONAL_SHARE = 0.25  # of the noised Chinese copies are in Traditional characters (Whisper base does that)


def _homophones(texts: list[str]) -> dict[str, list[str]]:
    """Characters of the corpus grouped by toneless pinyin: 工 → 公 弓 …, 收 → 手 首 …"""
    from pypinyin import Style, lazy_pinyin

    by_sound: dict[str, list[str]] = {}
    for char in sorted({c for text in texts for c in text if "\u4e00" <= c <= "\u9fff"}):
        by_sound.setdefault(lazy_pinyin(char, style=Style.NORMAL)[0], []).append(char)
    return {c: [o for o in group if o != c] for group in by_sound.values() for c in group if len(group) > 1}


def asr_noised(text: str, lang: str, rng: random.Random, homophones: dict[str, list[str]]) -> str:
    """One ASR-like copy: two homophone substitutions, or one or two dropped characters, or (Chinese)
    Traditional characters; punctuation dropped as ASR often does. English: lower case, no punctuation, one
    short word dropped."""
    if lang == "en":
        words = [w.strip(".,?!") for w in text.lower().split()]
        if len(words) > 4:
            del words[rng.randrange(1, len(words) - 1)]
        return " ".join(w for w in words if w)
    if rng.random() < TRADITIONAL_SHARE:
        import opencc

        noised = opencc.OpenCC("s2t").convert(text)
    else:
        chars = list(text)
        positions = [i for i, c in enumerate(chars) if c in homophones]
        if positions and rng.random() < 0.6:
            for i in rng.sample(positions, min(2, len(positions))):
                chars[i] = rng.choice(homophones[chars[i]])
        else:
            hanzi = [i for i, c in enumerate(chars) if "\u4e00" <= c <= "\u9fff"]
            for i in sorted(rng.sample(hanzi, min(rng.choice((1, 2)), len(hanzi))), reverse=True):
                del chars[i]
        noised = "".join(chars)
    return noised.replace("，", " ").replace("。", "").replace("？", "")


# A short 「对。」 answering the customer's question is read with the question (qc.models.context): "question answer".
# Its own random stream, so the families above keep their rows.
AFFIRMATION_FAMILIES: list[tuple[str, str, str, str, list[str]]] = [
    ("affirmed-institution", "zh", "impersonation", "a bare yes to 「你们是法院的吗？」: the agent asserts the institution", [
        "你们是法院的吗？ 对。", "你是警察吗？ 是的。", "你们是公安局的吧？ 嗯，对。", "你是律师吗？ 对，我是。",
        "你们是检察院的？ 没错。", "这是法院打来的电话吗？ 是的，没错。", "你们是执行局的？ 对。", "你是派出所的吗？ 当然。",
        "你们是政府部门的吗？ 是啊。", "你是法官吗？ 对，是我。", "你们是银保监会的吗？ 是的。", "你是律所的人？ 对。",
    ]),
    ("affirmed-lawful", "zh", "none", "hard negatives: a bare yes to a question about the agency, the bank, a payment plan", [
        "你们是银行的吗？ 对。", "你是催收公司的吧？ 是的。", "你们是星海银行委托的吗？ 对，没错。", "你是他们的客服吗？ 是的。",
        "你们是贷后部门的吗？ 对。", "我明天还可以吗？ 对。", "是不是可以分期？ 是的。", "你是恒信资产的吗？ 当然。",
    ]),
    ("affirmed-institution", "en", "impersonation", "a bare yes to 'are you the police?': the agent asserts the institution", [
        "Are you the police? Yes.", "Is this the court calling? That's right.", "Are you a lawyer? Yes, I am.",
        "Are you with the sheriff's office? Correct.", "Is this the district attorney? Yeah.", "Are you from the IRS? Exactly.",
        "Are you a cop? Yep.", "Are you with the government? Yes.",
    ]),
    ("affirmed-lawful", "en", "none", "hard negatives: a bare yes to a question about the collector, the call, a payment", [
        "Are you a debt collector? Yes.", "Is this about my credit card? Yes.", "Are you calling from Harbor Recovery? That's right.",
        "Can I pay next Friday? Yes.", "Is this call recorded? Correct.", "Are you with the bank? Yeah.",
    ]),
]


def family_rows(rng: random.Random, families=FAMILIES) -> tuple[list[dict], list[dict]]:
    train: list[dict] = []
    holdout: list[dict] = []
    for name, lang, label, _, templates in families:
        slots = SLOTS_ZH if lang == "zh" else SLOTS_EN
        for index, template in enumerate(templates):
            held = _is_holdout(index)
            for text in _variants(template, rng, slots, HOLDOUT_VARIANTS if held else TRAIN_VARIANTS):
                (holdout if held else train).append(
                    {"text": text, "labels": label, "lang": lang, "template": f"{lang}-{name}-{label}-{index}"})
    return train, holdout


INDEPENDENT_FAMILY = (INDEPENDENT_GROUP.strip("-"), "zh, en", "each label",
                      "utterances written by other people from the regulations alone, without this file: the semantic "
                      "rules' tuning set and the spent blind sets 1, 2 and 4 to 18 (implicit, colloquial, ASR-garbled, near "
                      "misses, customer lines as `none`; categories the model has no label for as `none`)")


def independent_rows() -> tuple[list[dict], list[dict]]:
    """The independently written utterances as corpus rows: an agent line's model labels are its categories the
    model knows (the others, e.g. cease_ignored, are `none` to the model); a customer line is `none`. Every
    fourth row of a file goes to the holdout; a text two files share is kept once."""
    train: list[dict] = []
    holdout: list[dict] = []
    seen: set[str] = set()
    for path in calibration_files():  # never a blind set that is not yet spent
        for number, utterance in enumerate(read_utterances(path)):
            if normalise_text(utterance.text) in seen:
                continue
            seen.add(normalise_text(utterance.text))
            labels = sorted(utterance.categories & set(VIOLATION_LABELS)) if utterance.speaker == "agent" else []
            (holdout if _is_holdout(number) else train).append(
                {"text": utterance.text, "labels": ",".join(labels) or "none", "lang": utterance.language,
                 "template": f"{utterance.language}{INDEPENDENT_GROUP}{path.stem}-{utterance.id}"})
    return train, holdout


def with_asr_copies(rows: list[dict], rng: random.Random, homophones: dict[str, list[str]]) -> list[dict]:
    """Every row plus one ASR-noised copy of it (same labels, same template, so it stays in the same split)."""
    copies = []
    for row in rows:
        noised = asr_noised(row["text"], row["lang"], rng, homophones)
        if noised.strip() and noised != row["text"]:
            copies.append({**row, "text": noised})
    return rows + copies


def write_family_notes(path: Path, train: list[dict], holdout: list[dict]) -> None:
    """FAMILIES.md: what each family covers and how many utterances it gave each split."""
    lines = ["# Violation corpus families", "",
             "Written by scripts/make_seed_corpus.py (do not edit). Every row also has one ASR-noised copy in the "
             "same split (homophones, dropped characters, Traditional characters; English: lower case, no "
             "punctuation, a dropped word).", "",
             "| family | language | label | covers | templates | train rows | holdout rows |", "|---|---|---|---|---|---|---|",
             "| seed templates | zh, en | each label | the first hand-written templates per label (explicit wording) "
             "| see the script | | |"]
    for name, lang, label, covers, templates in FAMILIES + AFFIRMATION_FAMILIES:
        prefix = f"{lang}-{name}-{label}-"
        count = lambda rows: sum(1 for r in rows if r["template"].startswith(prefix))  # noqa: E731
        lines.append(f"| {name} | {lang} | {label} | {covers} | {len(templates)} | {count(train)} | {count(holdout)} |")
    name, lang, label, covers = INDEPENDENT_FAMILY
    count = lambda rows: sum(1 for r in rows if f"-{name}-" in r["template"])  # noqa: E731
    lines.append(f"| {name} | {lang} | {label} | {covers} | none | {count(train)} | {count(holdout)} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _fill(template: str, rng: random.Random, slots: dict[str, list[str]]) -> str:
    values = {name: rng.choice(options) for name, options in slots.items()}
    amount, amount_zh = rng.choice(AMOUNTS)
    # Whisper writes amounts as digits; scripts write them in characters: keep both in the corpus.
    values["amount"] = str(amount) if rng.random() < 0.4 else amount_zh
    values["amount_en"] = f"${amount:,}"
    text = template.format(**values)
    if rng.random() < 0.3 and slots is SLOTS_ZH:
        text = text.replace("，", " ").replace("。", "")  # ASR output often lacks punctuation
    return text


def _variants(template: str, rng: random.Random, slots: dict[str, list[str]], count: int) -> list[str]:
    seen: list[str] = []
    for _ in range(count * 4):
        text = _fill(template, rng, slots)
        if text not in seen:
            seen.append(text)
        if len(seen) == count:
            break
    return seen


def _is_holdout(index: int) -> bool:
    return index % HOLDOUT_EVERY == HOLDOUT_EVERY - 1


def violation_rows(rng: random.Random) -> tuple[list[dict], list[dict]]:
    train: list[dict] = []
    holdout: list[dict] = []
    single: dict[tuple[str, str, bool], list[str]] = {}
    for lang, groups, slots in (("zh", VIOLATION_TEMPLATES_ZH, SLOTS_ZH), ("en", VIOLATION_TEMPLATES_EN, SLOTS_EN)):
        for label, templates in groups.items():
            for index, template in enumerate(templates):
                held = _is_holdout(index)
                count = HOLDOUT_VARIANTS if held else TRAIN_VARIANTS
                for text in _variants(template, rng, slots, count):
                    row = {"text": text, "labels": label, "lang": lang, "template": f"{lang}-{label}-{index}"}
                    (holdout if held else train).append(row)
                    if label != "none":
                        single.setdefault((lang, label, held), []).append(text)
    # Two violations in one turn (e.g. an insult followed by a threat), from clauses of the same split.
    labels = [label for label in VIOLATION_TEMPLATES_ZH if label != "none"]
    for held, target, count in ((False, train, 60), (True, holdout, 24)):
        for number in range(count):
            lang = "zh" if rng.random() < 0.8 else "en"
            first, second = rng.sample(labels, 2)
            text = rng.choice(single[(lang, first, held)]) + (" " if lang == "en" else "") + \
                rng.choice(single[(lang, second, held)])
            target.append({"text": text, "labels": ",".join(sorted((first, second))), "lang": lang,
                           "template": f"{lang}-combo-{'holdout' if held else 'train'}-{number}"})
    return train, holdout


def emotion_rows(rng: random.Random) -> tuple[list[dict], list[dict]]:
    train: list[dict] = []
    holdout: list[dict] = []
    for lang, templates, slots in (("zh", EMOTION_TEMPLATES_ZH, SLOTS_ZH), ("en", EMOTION_TEMPLATES_EN, SLOTS_EN)):
        for index, (emotion, complaint, template) in enumerate(templates):
            held = _is_holdout(index)
            count = 2 if held else 4
            for text in _variants("{opener}" + template, rng, slots, count):
                (holdout if held else train).append({
                    "text": text, "emotion": emotion, "complaint_intent": "1" if complaint else "0",
                    "lang": lang, "template": f"{lang}-emotion-{index}"})
    return train, holdout


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(SEED)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    train, holdout = violation_rows(rng)
    family_rng = random.Random(SEED + 1)  # its own stream: the emotion corpus below stays as it was
    f_train, f_holdout = family_rows(family_rng)
    homophones = _homophones([r["text"] for r in train + holdout + f_train + f_holdout])
    train = with_asr_copies(train + f_train, family_rng, homophones)
    holdout = with_asr_copies(holdout + f_holdout, family_rng, homophones)
    a_train, a_holdout = family_rows(random.Random(SEED + 3), AFFIRMATION_FAMILIES)
    train += with_asr_copies(a_train, random.Random(SEED + 4), homophones)
    holdout += with_asr_copies(a_holdout, random.Random(SEED + 5), homophones)
    i_train, i_holdout = independent_rows()  # its own stream again: the rows above stay as they were
    independent_rng = random.Random(SEED + 2)
    train += with_asr_copies(i_train, independent_rng, homophones)
    trained = {normalise_text(r["text"]) for r in train}  # an ASR copy may coincide with a training text
    holdout += [r for r in with_asr_copies(i_holdout, independent_rng, homophones)
                if normalise_text(r["text"]) not in trained]
    _write(DATA_DIR / "violations_train.tsv", train)
    _write(DATA_DIR / "violations_holdout.tsv", holdout)
    write_family_notes(DATA_DIR / "FAMILIES.md", train, holdout)
    for path in (DATA_DIR / "violations_train.tsv", DATA_DIR / "violations_holdout.tsv"):
        # the semantic head's sentence vectors, stored so that training does not embed the corpus each time
        write_embeddings([e.text for e in load_violation_corpus(path)], embedding_file(path))
    e_train, e_holdout = emotion_rows(rng)
    _write(DATA_DIR / "emotion_train.tsv", e_train)
    _write(DATA_DIR / "emotion_holdout.tsv", e_holdout)
    print(f"violations: {len(train)} train, {len(holdout)} holdout; "
          f"emotion: {len(e_train)} train, {len(e_holdout)} holdout -> {DATA_DIR}")


if __name__ == "__main__":
    main()
