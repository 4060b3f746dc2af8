import { describe, expect, it } from 'vitest';
import { joinRoute } from './framework-route.ts';
import { methodLabel } from './method.ts';
import { statusLabel } from './status.ts';
import { compileTemplates } from './templates.ts';

describe('configured templates', () => {
  const t = compileTemplates(' /users/:id , /users/me,/orders/{id}/items,/static/*,not-a-path');
  it('most specific first; :name and {name} match one segment; * the rest', () => {
    expect(t.templates).toEqual(['/orders/{id}/items', '/users/me', '/users/:id', '/static/*']);
    expect(t.match('/users/42')).toBe('/users/:id');
    expect(t.match('/users/me')).toBe('/users/me');
    expect(t.match('/users/42/')).toBe('/users/:id');
    expect(t.match('/users/42?x=1')).toBe('/users/:id');
    expect(t.match('/orders/9/items')).toBe('/orders/{id}/items');
    expect(t.match('/static/a/b/c.css')).toBe('/static/*');
    expect(t.match('/users/42/extra')).toBeUndefined();
    expect(t.match('/')).toBeUndefined();
  });
  it('a literal segment matches only itself, whole; empty segments do not count', () => {
    expect(t.match('/users/mex')).toBe('/users/:id');
    expect(t.match('/users/m')).toBe('/users/:id');
    expect(t.match('//users//me//')).toBe('/users/me');
    expect(t.match('/orders/9/item')).toBeUndefined();
    expect(t.match('/orders/9/items/x')).toBeUndefined();
    expect(t.match('/static')).toBe('/static/*');
    expect(t.match('/static?x=/a/b')).toBe('/static/*');
    expect(t.match('/statics/a')).toBeUndefined();
    expect(t.match('/users/42?next=/users/me')).toBe('/users/:id');
  });
  it('no templates: nothing matches', () => {
    expect(compileTemplates(undefined).match('/x')).toBeUndefined();
  });
});

describe('labels', () => {
  it('method: the nine standard methods, else _OTHER', () => {
    expect(['GET', 'PATCH', 'get', 'PURGE', undefined].map(methodLabel)).toEqual(['GET', 'PATCH', '_OTHER', '_OTHER', '_OTHER']);
  });
  it('status: listed codes as strings, others to their class', () => {
    expect([200, 429, 418, 299, 599, 103, 999, undefined].map(statusLabel)).toEqual(['200', '429', '400', '200', '500', '100', '500', '500']);
  });
  it('joinRoute', () => {
    expect(joinRoute('/orgs/:org', '/apps/:app')).toBe('/orgs/:org/apps/:app');
    expect(joinRoute('/api/', '/x')).toBe('/api/x');
    expect(joinRoute('/api', '/')).toBe('/api');
    expect(joinRoute('', '/')).toBe('/');
  });
});
