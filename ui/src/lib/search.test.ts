import { beforeAll, describe, expect, it } from 'vitest';
import type { MapHousehold } from '../generated/MapHousehold';
import { HouseholdIndex, initials, isIdTail, loadPinyin } from './search';

const h = (id: string, members: string[], address: string): MapHousehold => ({
  id, address, head: members[0], members, groups: [], lat: null, lon: null, last_visit: null, days_since_visit: null,
});
const list = new HouseholdIndex([
  h('1', ['张三丰', '李秀英'], '王家庄村东街12号'),
  h('2', ['王建国'], '王家庄村西街3号'),
  h('3', ['欧阳明', '张小红'], '后营村南街8号'),
]);
const ids = (q: string) => list.filter(q).map((x) => x.id);

describe('household search', () => {
  beforeAll(loadPinyin);

  it('reads pinyin initials of Chinese names', () => {
    expect(initials('张三丰')).toBe('zsf');
    expect(initials('欧阳明')).toBe('oym');
  });

  it('finds by a name or a surname, any member', () => {
    expect(ids('张')).toEqual(['1', '3']);
    expect(ids('李秀英')).toEqual(['1']);
    expect(ids('赵')).toEqual([]);
  });

  it('finds by pinyin initials, in either case', () => {
    expect(ids('zsf')).toEqual(['1']);
    expect(ids('ZXH')).toEqual(['3']);
    expect(ids('wj')).toEqual(['2']);
  });

  it('finds by an address fragment of two characters or more', () => {
    expect(ids('西街')).toEqual(['2']);
    expect(ids('王家庄')).toEqual(['1', '2']);
  });

  it('works out pinyin initials only when a Latin query is typed', () => {
    const fresh = new HouseholdIndex([h('1', ['张三丰'], '王家庄村东街12号')]);
    expect(fresh.filter('张').length).toBe(1);
    expect(fresh.filter('东街').length).toBe(1);
    expect(fresh.indexed).toBe(false);
    expect(fresh.filter('zs').length).toBe(1);
    expect(fresh.indexed).toBe(true);
  });

  it('lists every household for a blank query', () => {
    expect(ids('  ')).toEqual(['1', '2', '3']);
  });

  it('knows an ID tail when it sees one', () => {
    expect(isIdTail('1234')).toBe(true);
    expect(isIdTail('12345x')).toBe(true);
    expect(isIdTail('12345')).toBe(false);
    expect(isIdTail('zsf')).toBe(false);
  });
});
